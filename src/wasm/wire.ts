/**
 * What the server thread and a guest worker thread say to each other: requests one way,
 * replies the other, each batch one transferred buffer ({@link ByteWriter}).
 *
 * - A request batch holds, in order, `open` (start an instance for a room), `event` (an
 *   ABI v1 `MessageToProcess`, already bincode-encoded: the worker copies it into guest
 *   memory as it is) and `close` (drop an instance) records, for any of the worker's rooms.
 * - The worker answers each batch with one reply batch: per `open` and `event`, in the same
 *   order, a `done` or `failed` record carrying the raw bincode of everything the guest
 *   sent during that call (so the sends of one call cross once, together, not one message
 *   per send); `printed` records carry the lines guests wrote to stdout or stderr.
 * @module
 */
import type { ErrorCode } from '../errors.js';
import { ByteReader, type ByteWriter } from './byte-buffer.js';
import { maxSizeOfToProcess, writeToProcess, type MessageToProcess } from './codec.js';

const OPEN = 1;
const EVENT = 2;
const CLOSE = 3;
const DONE = 1;
const FAILED = 2;
const PRINTED = 3;
const STDOUT = 1;
const STDERR = 2;

/** The calls (`open`, `event`) in a request batch: each gets exactly one reply, in order. */
export interface RequestHandler {
  open(instance: number, roomId: string): void;
  /** `bytes` is the encoded event, a view into the batch. */
  event(instance: number, bytes: Uint8Array): void;
  close(instance: number): void;
}

export function writeOpen(w: ByteWriter, instance: number, roomId: string): void {
  w.u8(OPEN);
  w.u32(instance);
  w.text(roomId);
}

export function writeEvent(w: ByteWriter, instance: number, message: MessageToProcess): void {
  w.u8(EVENT);
  w.u32(instance);
  w.fill(maxSizeOfToProcess(message), (target) => writeToProcess(message, target));
}

export function writeClose(w: ByteWriter, instance: number): void {
  w.u8(CLOSE);
  w.u32(instance);
}

/** Calls `handler` for each record of a request batch, in order. */
export function readRequests(buffer: ArrayBuffer, handler: RequestHandler): void {
  const r = new ByteReader(buffer);
  while (!r.done) {
    const op = r.u8();
    const instance = r.u32();
    if (op === OPEN) handler.open(instance, r.text());
    else if (op === EVENT) handler.event(instance, r.lengthPrefixed());
    else if (op === CLOSE) handler.close(instance);
    else throw new Error(`request batch: unknown record ${op}`);
  }
}

/** The records of a reply batch. */
export interface ReplyHandler {
  /** A call finished; `sent` holds what the guest sent during it (see {@link forEachSent}). */
  done(instance: number, sent: Uint8Array): void;
  /** A call failed after the guest sent `sent`; its instance is poisoned. */
  failed(instance: number, sent: Uint8Array, code: ErrorCode, message: string): void;
  printed(instance: number, stream: 'stdout' | 'stderr', line: string): void;
}

/**
 * Writes one call's reply: `run` makes the call, appending what the guest sends with
 * {@link writeSent}, and returns `undefined` or the error that poisoned the instance.
 */
export function writeCallReply(
  w: ByteWriter,
  instance: number,
  run: () => { code: ErrorCode; message: string } | undefined,
): void {
  const kind = w.position;
  w.u8(DONE);
  w.u32(instance);
  const length = w.placeholderU32();
  const failure = run();
  w.patchU32(length, w.position - length - 4);
  if (failure === undefined) return;
  w.patchU8(kind, FAILED);
  w.text(failure.code);
  w.text(failure.message);
}

/** Appends one thing the guest sent (its raw bincode) to the call being written. */
export function writeSent(w: ByteWriter, bytes: Uint8Array): void {
  w.lengthPrefixed(bytes);
}

export function writePrinted(w: ByteWriter, instance: number, stream: 'stdout' | 'stderr', line: string): void {
  w.u8(PRINTED);
  w.u32(instance);
  w.u8(stream === 'stdout' ? STDOUT : STDERR);
  w.text(line);
}

/** Calls `handler` for each record of a reply batch, in order. */
export function readReplies(buffer: ArrayBuffer, handler: ReplyHandler): void {
  const r = new ByteReader(buffer);
  while (!r.done) {
    const kind = r.u8();
    const instance = r.u32();
    if (kind === PRINTED) {
      const stream = r.u8() === STDOUT ? 'stdout' : 'stderr';
      handler.printed(instance, stream, r.text());
      continue;
    }
    const sent = r.lengthPrefixed();
    if (kind === DONE) handler.done(instance, sent);
    else if (kind === FAILED) handler.failed(instance, sent, r.text() as ErrorCode, r.text());
    else throw new Error(`reply batch: unknown record ${kind}`);
  }
}

/** Calls `each` with the raw bincode of every send in a call's `sent`, in order. */
export function forEachSent(sent: Uint8Array, each: (bytes: Uint8Array) => void): void {
  const view = new DataView(sent.buffer, sent.byteOffset, sent.byteLength);
  for (let at = 0; at < sent.byteLength; ) {
    const length = view.getUint32(at, true);
    each(sent.subarray(at + 4, at + 4 + length));
    at += 4 + length;
  }
}

/** What a guest worker thread is started with (its `workerData`). */
export interface ThreadSetup {
  /** The compiled module; the thread instantiates it once per room. */
  readonly module: WebAssembly.Module;
  /** The file it came from, for messages. */
  readonly name: string;
  readonly memoryLimitBytes: number;
  /** The shared memory of the `CallClock` the thread stamps each call on. */
  readonly clock: SharedArrayBuffer;
}
