/**
 * What a guest prints (WASI stdout/stderr, a Rust panic message say) goes to the server's
 * log, tagged with its room, whether the guest runs inline or on a worker thread.
 * @module
 */
import type { Logger } from '../../logger.js';

/** Logs a line a guest printed: stderr at `warn`, stdout at `info`, tagged with its room. */
export function logPrinted(log: Logger, fields: { roomId: string; module: string; stream: 'stdout' | 'stderr' }, line: string): void {
  if (fields.stream === 'stderr') log.warn(fields, `guest: ${line}`);
  else log.info(fields, `guest: ${line}`);
}
