/**
 * What the server thread and a guest worker thread say to each other, as frames of the two
 * rings (`ring.ts`) between them.
 *
 * - Server to thread: one frame per event-loop turn, a batch of `open` (start an instance for
 *   a room), `event` (an ABI v1 `MessageToProcess`, already bincode-encoded: the thread copies
 *   it into guest memory as it is), `snapshot` (capture an instance's image), `restore` (start
 *   an instance from an image) and `close` (drop an instance) records, for any of the
 *   thread's rooms, written with a {@link ByteWriter}. A `restore` record does not carry its
 *   image, which may be tens of MiB: it names an attachment, and a batch with attachments
 *   goes by the port as one message, `[batch, ...attachments]`, transferred, not copied.
 * - Thread to server: one frame per record, published as it happens. While a call runs, a
 *   `sent` record per `stateroom_send` (its raw bincode) and a `printed` record per line the
 *   guest wrote; when it ends, `done` or `failed` — or, for a `snapshot`, `image` with the
 *   image's bytes. Calls are answered in the order they were made, so a record needs no call
 *   id: it belongs to the oldest call not yet answered. Being published at once, what a guest
 *   sent is there for the server to read while the call still runs.
 * @module
 */
import type { MessagePort } from 'node:worker_threads';
import type { ErrorCode } from '../../errors.js';
import { ByteReader, type ByteWriter } from './byte-buffer.js';
import type { ClientId, Payload } from '../../service/types.js';
import { maxSizeOfToProcess, readU32, writeMessageToProcess, writeToProcess, type MessageToProcess } from '../abi/codec.js';
import type { SnapshotLayout } from '../abi/snapshot.js';

const OPEN = 1;
const EVENT = 2;
const CLOSE = 3;
const SNAPSHOT = 4;
const RESTORE = 5;
const SENT = 1;
const DONE = 2;
const FAILED = 3;
const PRINTED = 4;
const IMAGE = 5;
const STDOUT = 1;
const STDERR = 2;
/** Kind and instance: the head of every reply record. */
export const REPLY_HEAD_BYTES = 5;
const writeEventInto = (target: Uint8Array, message: MessageToProcess): number => writeToProcess(message, target);
const utf8 = new TextEncoder();
const utf8Decoder = new TextDecoder();

/** The calls (`open`, `event`, `snapshot`, `restore`) in a request batch: each gets exactly one reply, in order. */
export interface RequestHandler {
  open(instance: number, roomId: string): void;
  /** `bytes` is the encoded event, a view into the batch. */
  event(instance: number, bytes: Uint8Array): void;
  /** Answered by an `image` record (or `failed`). */
  snapshot(instance: number): void;
  /** `image` is the batch's attachment, the thread's to keep. */
  restore(instance: number, image: Uint8Array): void;
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

export function writeSnapshot(w: ByteWriter, instance: number): void {
  w.u8(SNAPSHOT);
  w.u32(instance);
}

/** A `restore` record: its image is the batch's attachment number `attachment` (see the module comment). */
export function writeRestore(w: ByteWriter, instance: number, attachment: number): void {
  w.u8(RESTORE);
  w.u32(instance);
  w.u32(attachment);
}

/** Calls `handler` for each record of a request batch, in order; `attachments` came with the batch. */
export function readRequests(batch: Uint8Array, handler: RequestHandler, attachments: readonly Uint8Array[] = []): void {
  const r = new ByteReader(batch);
  while (!r.done) {
    const op = r.u8();
    const instance = r.u32();
    if (op === OPEN) handler.open(instance, r.text());
    else if (op === EVENT) handler.event(instance, r.lengthPrefixed());
    else if (op === CLOSE) handler.close(instance);
    else if (op === SNAPSHOT) handler.snapshot(instance);
    else if (op === RESTORE) {
      const attachment = r.u32();
      const image = attachments[attachment];
      if (image === undefined) throw new Error(`request batch: restore names attachment ${attachment}, and ${attachments.length} came`);
      handler.restore(instance, image);
    } else throw new Error(`request batch: unknown record ${op}`);
  }
}

/**
 * What goes by the port for a request frame: the batch alone, or with attachments
 * `[batch, ...attachments]`; {@link unpackRequestFrame} reads either.
 */
export type RequestFrame = Uint8Array | readonly Uint8Array[];

export function unpackRequestFrame(frame: RequestFrame): { batch: Uint8Array; attachments: readonly Uint8Array[] } {
  if (frame instanceof Uint8Array) return { batch: frame, attachments: [] };
  const [batch, ...attachments] = frame;
  if (batch === undefined) throw new Error('request frame: an empty list');
  return { batch, attachments };
}

/** The records a thread publishes. */
export interface ReplyHandler {
  /** The running call of `instance` sent `bytes` (raw bincode, a view: decode or copy it now). */
  sent(instance: number, bytes: Uint8Array): void;
  /** A call finished. */
  done(instance: number): void;
  /** A call failed; its instance is poisoned. */
  failed(instance: number, code: ErrorCode, message: string): void;
  printed(instance: number, stream: 'stdout' | 'stderr', line: string): void;
  /**
   * A snapshot call's answer: the image. A view of the frame — of the ring (a
   * `SharedArrayBuffer`: copy it) or of a transferred buffer (the receiver's to keep).
   */
  image(instance: number, image: Uint8Array): void;
}

/** How a call failed, as a `failed` record carries it. */
export interface CallFailure {
  readonly code: ErrorCode;
  readonly message: string;
}

/**
 * A reply record to write: `kind`, `instance`, an optional byte (`extra`, or -1), then
 * `body`. The thread writes {@link replyLength} bytes of it with {@link writeReply}.
 */
export interface ReplyRecord {
  kind: number;
  instance: number;
  extra: number;
  body: Uint8Array;
}

export const sentRecord = (instance: number, bytes: Uint8Array): ReplyRecord => ({ kind: SENT, instance, extra: -1, body: bytes });
export const doneRecord = (instance: number): ReplyRecord => ({ kind: DONE, instance, extra: -1, body: EMPTY_BODY });
const EMPTY_BODY = new Uint8Array(0);

export function failedRecord(instance: number, { code, message }: CallFailure): ReplyRecord {
  // A code never holds a newline: it ends at the first one.
  return { kind: FAILED, instance, extra: -1, body: utf8.encode(`${code}\n${message}`) };
}

export function printedRecord(instance: number, stream: 'stdout' | 'stderr', line: string): ReplyRecord {
  return { kind: PRINTED, instance, extra: stream === 'stdout' ? STDOUT : STDERR, body: utf8.encode(line) };
}

/**
 * Makes `frame` — an image after {@link REPLY_HEAD_BYTES} free bytes (what `Guest.snapshot`
 * leaves when asked) — an `image` record of `instance`, in place: the image is not copied.
 */
export function imageFrame(frame: Uint8Array, instance: number): Uint8Array {
  writeReply(frame, 0, { kind: IMAGE, instance, extra: -1, body: EMPTY_BODY });
  return frame;
}

export function replyLength(record: ReplyRecord): number {
  return REPLY_HEAD_BYTES + (record.extra < 0 ? 0 : 1) + record.body.byteLength;
}

/** Writes `record` at `at` of `target`, which has {@link replyLength} bytes free there. */
export function writeReply(target: Uint8Array, at: number, { kind, instance, extra, body }: ReplyRecord): void {
  target[at] = kind;
  target[at + 1] = instance & 0xff;
  target[at + 2] = (instance >>> 8) & 0xff;
  target[at + 3] = (instance >>> 16) & 0xff;
  target[at + 4] = instance >>> 24;
  let next = at + REPLY_HEAD_BYTES;
  if (extra >= 0) target[next++] = extra;
  target.set(body, next);
}

/** Calls `handler` for one reply record (a whole frame). */
export function readReply(frame: Uint8Array, handler: ReplyHandler): void {
  const kind = frame[0];
  const instance = readU32(frame, 1);
  const body = frame.subarray(REPLY_HEAD_BYTES);
  if (kind === SENT) handler.sent(instance, body);
  else if (kind === DONE) handler.done(instance);
  else if (kind === FAILED) {
    const text = utf8Decoder.decode(body);
    const newline = text.indexOf('\n');
    handler.failed(instance, text.slice(0, newline) as ErrorCode, text.slice(newline + 1));
  } else if (kind === PRINTED) handler.printed(instance, body[0] === STDOUT ? 'stdout' : 'stderr', utf8Decoder.decode(body.subarray(1)));
  else if (kind === IMAGE) handler.image(instance, body);
  else throw new Error(`reply: unknown record ${String(kind)}`);
}

/** What a guest worker thread is started with (its `workerData`). */
export interface ThreadSetup {
  /** The compiled module; the thread instantiates it once per room. */
  readonly module: WebAssembly.Module;
  /** The file it came from, for messages. */
  readonly name: string;
  readonly memoryLimitBytes: number;
  /**
   * One Int32: the 64 KiB pages of guest memory all instances on the thread hold, updated
   * after each call (the server adds them up for the process's memory budget).
   */
  readonly memory: SharedArrayBuffer;
  /** The shared memory of the `CallClock` the thread stamps each call on. */
  readonly clock: SharedArrayBuffer;
  /** The ring of request batches (server to thread). */
  readonly requests: SharedArrayBuffer;
  /** The ring of reply records (thread to server). */
  readonly replies: SharedArrayBuffer;
  /** Frames too long for a ring go by this port, in order (a ring frame says where). */
  readonly port: MessagePort;
  /** What a snapshot of an instance reads and writes; `undefined` when the module's rooms cannot be saved. */
  readonly snapshot: SnapshotLayout | undefined;
}
