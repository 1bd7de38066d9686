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
import type { ErrorCode } from '../../errors.js';
import { ByteReader, type ByteWriter } from './byte-buffer.js';
import type { ClientId, Payload } from '../../service/types.js';
import { maxSizeOfToProcess, readU32, writeMessageToProcess, writeToProcess, type MessageToProcess } from '../abi/codec.js';

const OPEN = 1;
const EVENT = 2;
const CLOSE = 3;
const DONE = 1;
const FAILED = 2;
const PRINTED = 3;
const STDOUT = 1;
const STDERR = 2;
const writeEventInto = (target: Uint8Array, message: MessageToProcess): number => writeToProcess(message, target);

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
  w.fill(maxSizeOfToProcess(message), writeEventInto, message, undefined);
}

/** One client message waiting in a room's queue. */
export interface QueuedMessage {
  readonly client: ClientId;
  readonly payload: Payload;
}

/** An `event` record for a client message, written without building a message object. */
export function writeMessage(w: ByteWriter, instance: number, { client, payload }: QueuedMessage): void {
  w.u8(EVENT);
  w.u32(instance);
  w.fill(20 + (typeof payload === 'string' ? payload.length * 3 : payload.byteLength), writeMessageToProcess, client, payload);
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

/** How a call failed, as a `failed` record carries it. */
export interface CallFailure {
  readonly code: ErrorCode;
  readonly message: string;
}

/**
 * Opens one call's reply record; what the guest sends during the call is appended with
 * {@link writeSent}, then {@link endCallReply} closes it. Returns where the record starts.
 */
export function beginCallReply(w: ByteWriter, instance: number): number {
  const start = w.position;
  w.u8(DONE);
  w.u32(instance);
  w.placeholderU32();
  return start;
}

/** Closes the reply record opened at `start`: a `done`, or a `failed` one with `failure`. */
export function endCallReply(w: ByteWriter, start: number, failure: CallFailure | undefined): void {
  const length = start + 5;
  w.patchU32(length, w.position - length - 4);
  if (failure === undefined) return;
  w.patchU8(start, FAILED);
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

/**
 * Calls `each(bytes, context)` with the raw bincode of every send in a call's `sent`, in
 * order. (A function and its context rather than a closure: this runs once per event.)
 */
export function forEachSent<C>(sent: Uint8Array, each: (bytes: Uint8Array, context: C) => void, context: C): void {
  for (let at = 0; at < sent.byteLength; ) {
    const length = readU32(sent, at);
    each(sent.subarray(at + 4, at + 4 + length), context);
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
