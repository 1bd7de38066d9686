/**
 * A guest worker thread: it hosts the instances of many rooms (of one compiled module) and
 * runs the calls of each request batch in order, publishing what each call does as it does
 * it (see wire.ts). It lives on a thread of its own so that a guest stuck in a loop can be
 * stopped by terminating the thread (a thread cannot interrupt its own WebAssembly); the
 * server thread's watchdog reads the {@link CallClock} this thread stamps.
 *
 * The thread never returns to its event loop: it sleeps in `Atomics.wait` until the server
 * publishes a batch, which is cheaper to wake than a message port.
 * @module
 */
import { receiveMessageOnPort, workerData } from 'node:worker_threads';
import { ErrorCode, StateroomError, describeThrown } from '../../errors.js';
import { CallClock } from './call-clock.js';
import { Guest, type GuestOutput, type MemoryTally } from '../abi/guest.js';
import type { StateroomModule } from '../abi/module.js';
import { PAGE_BYTES } from '../abi/rewrite.js';
import { ELSEWHERE, EMPTY, HEAD, Ring, TAIL } from './ring.js';
import {
  REPLY_HEAD_BYTES,
  doneRecord,
  failedRecord,
  imageFrame,
  printedRecord,
  readRequests,
  replyLength,
  sentRecord,
  unpackRequestFrame,
  writeReply,
  type CallFailure,
  type ReplyRecord,
  type RequestFrame,
  type RequestHandler,
  type ThreadSetup,
} from './wire.js';

/** How long to sleep at most while the server frees room in the reply ring (it is woken first). */
const ROOM_WAIT_MS = 50;

const setup = workerData as ThreadSetup;
const module: StateroomModule = { name: setup.name, module: setup.module, snapshot: setup.snapshot };
const tally: MemoryTally = { bytes: 0 };
const limits = { memoryLimitBytes: setup.memoryLimitBytes, tally };
const memoryPages = new Int32Array(setup.memory);
const clock = new CallClock(setup.clock);
const requests = new Ring(setup.requests);
const replies = new Ring(setup.replies);
const guests = new Map<number, Guest>();
/** Calls are numbered from 1 in the order they arrive, as the server thread numbers them. */
let seq = 0;

const handler: RequestHandler = {
  open(instance, roomId) {
    clock.begin(++seq);
    let failure: CallFailure | undefined;
    try {
      guests.set(instance, Guest.start(module, roomId, limits, outputOf(instance)));
    } catch (thrown) {
      failure = failureOf(thrown);
    }
    end(instance, failure);
  },
  event(instance, bytes) {
    clock.begin(++seq);
    let failure: CallFailure | undefined;
    try {
      guestOf(instance).deliverEncoded(bytes);
    } catch (thrown) {
      failure = failureOf(thrown);
    }
    end(instance, failure);
  },
  snapshot(instance) {
    // A call like any other (the watchdog sees it), though no guest code runs: a copy of
    // the guest's memory, which goes by the port, transferred, when it is long.
    clock.begin(++seq);
    let frame: Uint8Array;
    try {
      frame = imageFrame(guestOf(instance).snapshot(REPLY_HEAD_BYTES), instance);
    } catch (thrown) {
      end(instance, failureOf(thrown));
      return;
    }
    clock.end();
    publishFrame(frame);
  },
  restore(instance, image) {
    clock.begin(++seq);
    let failure: CallFailure | undefined;
    try {
      guestOf(instance).restore(image);
    } catch (thrown) {
      failure = failureOf(thrown);
    }
    // end() publishes the memory the restored instance holds.
    end(instance, failure);
  },
  close(instance) {
    guests.get(instance)?.dispose();
    guests.delete(instance);
    Atomics.store(memoryPages, 0, Math.ceil(tally.bytes / PAGE_BYTES));
  },
};

function guestOf(instance: number): Guest {
  const guest = guests.get(instance);
  if (guest === undefined) throw new StateroomError(ErrorCode.WASM_EXIT, `guest instance ${instance} is gone (${module.name})`);
  return guest;
}

/** The call ended: publish how. */
function end(instance: number, failure: CallFailure | undefined): void {
  clock.end();
  Atomics.store(memoryPages, 0, Math.ceil(tally.bytes / PAGE_BYTES));
  publish(failure === undefined ? doneRecord(instance) : failedRecord(instance, failure));
}

function failureOf(thrown: unknown): CallFailure {
  return thrown instanceof StateroomError ? thrown : { code: ErrorCode.WASM_TRAP, message: describeThrown(thrown) };
}

function outputOf(instance: number): GuestOutput {
  return {
    sent: (bytes) => publish(sentRecord(instance, bytes)),
    printed: (stream, line) => publish(printedRecord(instance, stream, line)),
  };
}

/** Writes a record to the reply ring now (the server reads it when it looks next). */
function publish(record: ReplyRecord): void {
  const length = replyLength(record);
  if (length <= replies.maxFrame) {
    roomFor(length);
    writeReply(replies.bytes, replies.at, record);
    replies.commit();
  } else {
    const frame = new Uint8Array(length);
    writeReply(frame, 0, record);
    publishFrame(frame);
  }
}

/** Publishes a whole record; one too long for the ring is transferred (`frame` is given away). */
function publishFrame(frame: Uint8Array): void {
  if (frame.byteLength <= replies.maxFrame) {
    roomFor(frame.byteLength);
    replies.bytes.set(frame, replies.at);
  } else {
    // By the port, and a frame in its place keeps the order.
    setup.port.postMessage(frame, [frame.buffer as ArrayBuffer]);
    roomFor(ELSEWHERE);
  }
  replies.commit();
}

/** Reserves a frame in the reply ring, waiting for the server to read what fills it. */
function roomFor(length: number): void {
  while (!replies.reserve(length)) {
    const read = replies.readCount;
    Atomics.notify(replies.control, HEAD);
    Atomics.wait(replies.control, TAIL, read, ROOM_WAIT_MS);
  }
}

/** Runs request batches as they come, forever (the server terminates the thread). */
function serve(): void {
  for (;;) {
    const length = requests.read();
    if (length === EMPTY) {
      Atomics.wait(requests.control, HEAD, requests.seen);
      continue;
    }
    if (length === ELSEWHERE) {
      const { batch, attachments } = unpackRequestFrame(elsewhere());
      readRequests(batch, handler, attachments);
    } else {
      readRequests(requests.bytes.subarray(requests.at, requests.at + length), handler);
    }
    requests.release();
    // The batch is answered: wake the server if it sleeps on the replies.
    Atomics.notify(replies.control, HEAD);
  }
}

function elsewhere(): RequestFrame {
  const received = receiveMessageOnPort(setup.port);
  if (received === undefined) throw new Error('a request frame said it went by the port, and the port is empty');
  return received.message as RequestFrame;
}

// Not from the module's own evaluation: an error in the loop then reaches the server as the
// thread's 'error' event, however the module was loaded.
setImmediate(serve);
