/**
 * A guest worker thread: it hosts the instances of many rooms (of one compiled module),
 * runs each request batch's calls in order, and answers every batch with one reply batch.
 * It lives on a thread of its own so that a guest stuck in a loop can be stopped by
 * terminating the thread (a thread cannot interrupt its own WebAssembly); the server
 * thread's watchdog reads the {@link CallClock} this thread stamps.
 * @module
 */
import { parentPort, workerData } from 'node:worker_threads';
import { ErrorCode, StateroomError, describeThrown } from '../../errors.js';
import { ByteWriter } from './byte-buffer.js';
import { CallClock } from './call-clock.js';
import { Guest, type GuestOutput } from '../abi/guest.js';
import type { StateroomModule } from '../abi/module.js';
import {
  beginCallReply,
  endCallReply,
  readRequests,
  writePrinted,
  writeSent,
  type CallFailure,
  type RequestHandler,
  type ThreadSetup,
} from './wire.js';

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
    const record = begin(instance);
    let failure: CallFailure | undefined;
    try {
      guests.set(instance, Guest.start(module, roomId, limits, outputOf(instance)));
    } catch (thrown) {
      failure = failureOf(thrown);
    }
    end(record, failure);
  },
  event(instance, bytes) {
    const record = begin(instance);
    let failure: CallFailure | undefined;
    try {
      const guest = guests.get(instance);
      if (guest === undefined) throw new StateroomError(ErrorCode.WASM_EXIT, `guest instance ${instance} is gone (${module.name})`);
      guest.deliverEncoded(bytes);
    } catch (thrown) {
      failure = failureOf(thrown);
    }
    end(record, failure);
  },
  close(instance) {
    guests.get(instance)?.dispose();
    guests.delete(instance);
    printed.length = 0; // no one is left to tag them with a room
  },
};

port.on('message', (requests: ArrayBuffer) => {
  readRequests(requests, handler);
  // Read through: the next reply is written into it (see byte-buffer.ts).
  reply.recycle(requests);
  if (reply.empty) return;
  const answer = reply.take();
  port.postMessage(answer, [answer]);
});

/** A call starts: stamp the clock, open its reply record. */
function begin(instance: number): number {
  clock.begin(++seq);
  return beginCallReply(reply, instance);
}

/** The call ended: close its record, then write the lines it printed. */
function end(record: number, failure: CallFailure | undefined): void {
  clock.end();
  endCallReply(reply, record, failure);
  if (printed.length === 0) return;
  for (const [from, stream, line] of printed) writePrinted(reply, from, stream, line);
  printed.length = 0;
}

function failureOf(thrown: unknown): CallFailure {
  return thrown instanceof StateroomError ? thrown : { code: ErrorCode.WASM_TRAP, message: describeThrown(thrown) };
}

function outputOf(instance: number): GuestOutput {
  return {
    sent: (bytes) => writeSent(reply, bytes),
    printed: (stream, line) => printed.push([instance, stream, line]),
  };
}
