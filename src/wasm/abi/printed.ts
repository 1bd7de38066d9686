/**
 * What a guest prints (WASI stdout/stderr, a Rust panic message say) goes to the server's
 * log, tagged with its room, whether the guest runs inline or on a worker thread.
 * @module
 */
import { throttleOf, type Logger } from '../../logger.js';

/**
 * Logs a line a guest printed: stderr at `warn`, stdout at `info`, tagged with its room.
 * Throttled like service errors: a client that makes guests panic, room after room, must not
 * write a line per room.
 */
export function logPrinted(log: Logger, fields: { roomId: string; module: string; stream: 'stdout' | 'stderr' }, line: string): void {
  const level = fields.stream === 'stderr' ? 'warn' : 'info';
  throttleOf(log).write(level, `room "${fields.roomId}"`, `${fields.roomId}\0${fields.stream}\0${line}`, fields, `guest: ${line}`);
}
