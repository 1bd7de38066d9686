/**
 * Runs one room's guest on a worker thread, so that a guest stuck in a loop can be stopped
 * by terminating the thread (a thread cannot interrupt its own WebAssembly). Everything the
 * guest does reaches the room as messages, in order.
 * @module
 */
import { parentPort, workerData } from 'node:worker_threads';
import { StateroomError, describeThrown } from '../errors.js';
import type { Logger } from '../logger.js';
import type { ServiceAdapter } from '../service/adapter.js';
import type { Context } from '../service/types.js';
import { startInstance } from './host.js';
import type { FromWorker, ToWorker, WorkerSetup } from './worker-protocol.js';

const port = parentPort;
if (port === null) throw new Error('worker-main.ts runs only as a worker thread');
const setup = workerData as WorkerSetup;
const post = (message: FromWorker): void => port.postMessage(message);

const context: Context = {
  roomId: setup.roomId,
  sendMessage: (recipient, payload) => post({ type: 'send', recipient, payload }),
  setTimer: (ms) => post({ type: 'setTimer', ms }),
  clearTimer: () => post({ type: 'clearTimer' }),
};

// Only the guest's printed lines are logged from here; they go to the room's logger.
const forward = (level: 'info' | 'warn') => (fields: object, message: string) => post({ type: 'log', level, fields, message });
const log: Logger = { debug: () => {}, info: forward('info'), warn: forward('warn'), error: forward('warn'), child: () => log };

const adapter: ServiceAdapter = await startInstance({ name: setup.name, module: setup.module }, setup.roomId, context, log, {
  memoryLimitBytes: setup.memoryLimitBytes,
});
post({ type: 'ready' });

port.on('message', ({ event }: ToWorker) => {
  try {
    switch (event.type) {
      case 'init':
        adapter.init();
        break;
      case 'connect':
        adapter.connect(event.client);
        break;
      case 'disconnect':
        adapter.disconnect(event.client);
        break;
      case 'message':
        adapter.message(event.sender, event.payload);
        break;
      case 'timer':
        adapter.timer();
        break;
    }
    post({ type: 'done' });
  } catch (thrown) {
    const code = thrown instanceof StateroomError ? thrown.code : undefined;
    post({ type: 'failed', code, message: thrown instanceof StateroomError ? thrown.message : describeThrown(thrown) });
  }
});
