/**
 * A worker of `stateroom serve --workers N`: a whole server that does not listen. The primary
 * hands it the connections of the rooms it owns; it tells the primary when it is ready and
 * shuts down when told to, or when the primary is gone.
 * @module
 */
import type { Socket } from 'node:net';
import { StateroomError } from '../errors.js';
import type { AdoptingServer } from '../serve.js';
import type { FromWorker, ToWorker } from './protocol.js';

/** The environment variable that makes `stateroom serve` run as worker N. */
export const WORKER_ENV = 'STATEROOM_WORKER';

/** Which worker this process is, when it is one. */
export function workerIndex(): number | undefined {
  const text = process.env[WORKER_ENV];
  return text === undefined || !/^\d+$/.test(text) ? undefined : Number(text);
}

/** Takes connections from the primary into `server`; exits when the primary says so or is gone. */
export function runWorker(server: AdoptingServer): void {
  let stopping = false;
  const stop = (): void => {
    if (stopping) return;
    stopping = true;
    server.close().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.on('message', (message: ToWorker, socket?: Socket) => {
    if (message.type === 'connection' && socket !== undefined) server.adopt(socket, Buffer.from(message.head, 'base64'));
    else if (message.type === 'shutdown') stop();
    else if (message.type === 'report') void answerReport(server, message.id, message.what === 'metrics');
  });
  // Ctrl-C reaches the whole process group: the primary decides, and tells us.
  process.on('SIGINT', () => {});
  process.on('SIGTERM', stop);
  // A primary that died (even SIGKILL) closes the channel: leave no orphan behind.
  process.on('disconnect', stop);
  // Or was gone before this worker was ready (it stopped when another worker could not start).
  if (process.send !== undefined && !process.connected) {
    stop();
    return;
  }
  const ready: FromWorker = { type: 'ready' };
  // The channel may close between the check and the send: an error there is not worth a stack.
  process.send?.(ready, undefined, undefined, () => {});
}

/**
 * A worker that cannot start (its service does not load): a {@link StateroomError} goes to the
 * primary, which prints it once for all its workers, and the worker exits 1 without printing
 * it too. Anything else is thrown on, as an unexpected error.
 */
export async function failStart(err: unknown): Promise<never> {
  if (!(err instanceof StateroomError) || process.send === undefined) throw err;
  // A primary already gone has said it, for another worker (or died, and no one is listening).
  if (process.connected) {
    const failed: FromWorker = { type: 'failed', code: err.code, message: err.message };
    await new Promise<void>((resolve) => process.send!(failed, () => resolve()));
  }
  process.exit(1);
}

async function answerReport(server: AdoptingServer, id: number, withMetrics: boolean): Promise<void> {
  const reply: FromWorker = { type: 'report', id, report: await server.report(withMetrics) };
  process.send?.(reply);
}
