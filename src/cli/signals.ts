/**
 * Ctrl-C and SIGTERM for the long-running commands (`serve`, `dev`).
 * @module
 */
import type { RunningServer } from '../serve.js';

/**
 * Ctrl-C or SIGTERM: close clients with 1001, dispose rooms, exit 0. A second signal exits
 * at once, after `force` (which ends what must not outlive this process).
 */
export function stopOnSignals(server: Pick<RunningServer, 'close'>, force: () => void = () => {}): void {
  let stopping = false;
  const stop = (signal: NodeJS.Signals): void => {
    if (stopping) {
      force();
      process.exit(1);
    }
    stopping = true;
    process.stderr.write(`stateroom: ${signal} received, closing clients and rooms (again to force)\n`);
    server.close().then(
      () => process.exit(0),
      (err: unknown) => {
        process.stderr.write(`stateroom: shutdown failed: ${String(err)}\n`);
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}
