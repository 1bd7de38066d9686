/**
 * A guest worker thread: it hosts the instances of many rooms (of one compiled module),
 * runs each request batch's calls in order, and answers every batch with one reply batch.
 * It lives on a thread of its own so that a guest stuck in a loop can be stopped by
 * terminating the thread (a thread cannot interrupt its own WebAssembly); the server
 * thread's watchdog reads the {@link CallClock} this thread stamps.
 * @module
 */
import { parentPort, workerData } from 'node:worker_threads';
import { ErrorCode, StateroomError, describeThrown } from '../errors.js';
import { ByteWriter } from './byte-buffer.js';
import { CallClock } from './call-clock.js';
import { callbackOfToProcess } from './codec.js';
import { Guest, type GuestOutput } from './guest.js';
import type { StateroomModule } from './module.js';
import { readRequests, writeCallReply, writePrinted, writeSent, type RequestHandler, type ThreadSetup } from './wire.js';

const port = parentPort;
if (port === null) throw new Error('thread-main.ts runs only as a worker thread');
const setup = workerData as ThreadSetup;
const module: StateroomModule = { name: setup.name, module: setup.module };
const limits = { memoryLimitBytes: setup.memoryLimitBytes };
const clock = new CallClock(setup.clock);
const guests = new Map<number, Guest>();
const reply = new ByteWriter();
/** Calls are numbered from 1 in the order they arrive, as the server thread numbers them. */
let seq = 0;
/** Lines printed during the current call: written after its reply record, which is still open. */
const printed: Array<[instance: number, stream: 'stdout' | 'stderr', line: string]> = [];

const handler: RequestHandler = {
  open(instance, roomId) {
    call(instance, () => {
      guests.set(instance, Guest.start(module, roomId, limits, outputOf(instance)));
    });
  },
  event(instance, bytes) {
    call(instance, () => {
      const guest = guests.get(instance);
      if (guest === undefined) throw new StateroomError(ErrorCode.WASM_EXIT, `guest instance ${instance} is gone (${module.name})`);
      guest.deliverEncoded(bytes, callbackOfToProcess(bytes));
    });
  },
  close(instance) {
    guests.get(instance)?.dispose();
    guests.delete(instance);
    printed.length = 0; // no one is left to tag them with a room
  },
};

port.on('message', (requests: ArrayBuffer) => {
  readRequests(requests, handler);
  if (reply.empty) return;
  const answer = reply.take();
  port.postMessage(answer, [answer]);
});

/** Runs one call, stamped on the clock, and writes its reply (with what the guest sent). */
function call(instance: number, run: () => void): void {
  clock.begin(++seq);
  writeCallReply(reply, instance, () => {
    try {
      run();
      return undefined;
    } catch (thrown) {
      return thrown instanceof StateroomError ? thrown : { code: ErrorCode.WASM_TRAP, message: describeThrown(thrown) };
    } finally {
      clock.end();
    }
  });
  for (const [from, stream, line] of printed.splice(0)) writePrinted(reply, from, stream, line);
}

function outputOf(instance: number): GuestOutput {
  return {
    sent: (bytes) => writeSent(reply, bytes),
    printed: (stream, line) => printed.push([instance, stream, line]),
  };
}
