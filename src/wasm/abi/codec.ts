/**
 * The bincode 1.x encoding of the messages between a host and a Stateroom WASM guest
 * (ABI v1; `docs/wasm.md` and the byte tables in the tests). Pure functions, no I/O:
 * fixed-width little-endian integers, enums as a u32 variant index, strings and byte
 * vectors as a u64 length and the bytes. Trailing bytes after a complete value are ignored,
 * as `bincode::deserialize` does.
 * @module
 */
import { isUtf8 } from 'node:buffer';
import type { ClientId, Payload, Recipient } from '../../service/types.js';

// Client id 0 never names a client; a guest may still send to it, and the host drops that.

/** Host → guest (`MessageToProcess`). */
export type MessageToProcess =
  | { readonly type: 'init' }
  | { readonly type: 'connect'; readonly client: ClientId }
  | { readonly type: 'disconnect'; readonly client: ClientId }
  | { readonly type: 'message'; readonly sender: ClientId; readonly payload: Payload }
  | { readonly type: 'timer' };

/** Guest → host (`MessageFromProcess`). */
export type MessageFromProcess =
  | { readonly type: 'message'; readonly recipient: Recipient; readonly payload: Payload }
  | { readonly type: 'setTimer'; readonly msDelay: number };

const TO_PROCESS_TAG = { init: 0, connect: 1, disconnect: 2, message: 3, timer: 4 } as const;
const TO_PROCESS_NAMES: readonly string[] = ['init', 'connect', 'disconnect', 'message', 'timer'];
const PAYLOAD_BYTES = 0;
const PAYLOAD_TEXT = 1;
const FROM_MESSAGE = 0;
const FROM_SET_TIMER = 1;
const RECIPIENT_BROADCAST = 0;
const RECIPIENT_CLIENT = 1;
const RECIPIENT_EXCEPT = 2;

const utf8 = new TextEncoder();
const strictUtf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/** Bytes from a guest that do not decode; the guest that sent them has failed. */
export class CodecError extends Error {
  override readonly name = 'CodecError';
}

/** How many bytes {@link writeToProcess} will write for `message`. */
export function sizeOfToProcess(message: MessageToProcess): number {
  switch (message.type) {
    case 'init':
    case 'timer':
      return 4;
    case 'connect':
    case 'disconnect':
      return 8;
    case 'message':
      return 8 + 4 + 8 + payloadLength(message.payload);
  }
}

/**
 * The most bytes {@link writeToProcess} can write for `message`, without scanning a text
 * payload (a UTF-16 code unit takes at most 3 bytes of UTF-8).
 */
export function maxSizeOfToProcess(message: MessageToProcess): number {
  if (message.type !== 'message') return sizeOfToProcess(message);
  const { payload } = message;
  return 20 + (typeof payload === 'string' ? payload.length * 3 : payload.byteLength);
}

/**
 * Writes `message` at the start of `target`, which must hold at least
 * {@link sizeOfToProcess} bytes (e.g. a view of guest memory at the address malloc gave),
 * and returns how many bytes it wrote.
 */
export function writeToProcess(message: MessageToProcess, target: Uint8Array): number {
  switch (message.type) {
    case 'message':
      return writeMessageToProcess(target, message.sender, message.payload);
    case 'connect':
    case 'disconnect':
      writeU32(target, 0, TO_PROCESS_TAG[message.type]);
      writeU32(target, 4, message.client);
      return 8;
    default:
      writeU32(target, 0, TO_PROCESS_TAG[message.type]);
      return 4;
  }
}

/**
 * Writes `Message { sender, payload }` at the start of `target` (room for
 * {@link maxSizeOfToProcess} of it) and returns how many bytes it wrote: the one event a
 * busy room sends over and over, written without building a message object first.
 */
export function writeMessageToProcess(target: Uint8Array, sender: ClientId, payload: Payload): number {
  writeU32(target, 0, TO_PROCESS_TAG.message);
  writeU32(target, 4, sender);
  let length: number;
  if (typeof payload === 'string') {
    writeU32(target, 8, PAYLOAD_TEXT);
    length = utf8.encodeInto(payload, target.subarray(20)).written;
  } else {
    writeU32(target, 8, PAYLOAD_BYTES);
    target.set(payload, 20);
    length = payload.byteLength;
  }
  writeU64(target, 12, length);
  return 20 + length;
}

/** The name of the callback a host → guest message is for, read from its encoded tag. */
export function callbackOfToProcess(bytes: Uint8Array): string {
  const tag = bytes.byteLength < 4 ? -1 : readU32(bytes, 0);
  return TO_PROCESS_NAMES[tag] ?? 'unknown';
}

/** `message` encoded into a new array. */
export function encodeToProcess(message: MessageToProcess): Uint8Array {
  const bytes = new Uint8Array(sizeOfToProcess(message));
  writeToProcess(message, bytes);
  return bytes;
}

/**
 * Decodes what a guest handed to `stateroom_send`. The payload is copied, so `bytes` may
 * be a view of guest memory that changes afterwards.
 * @throws {@link CodecError} for an unknown tag, a truncated value or invalid UTF-8.
 */
export function decodeFromProcess(bytes: Uint8Array): MessageFromProcess {
  const reader = new Reader(bytes);
  const tag = reader.u32('MessageFromProcess tag');
  if (tag === FROM_SET_TIMER) return { type: 'setTimer', msDelay: reader.u32('SetTimer ms_delay') };
  if (tag !== FROM_MESSAGE) throw new CodecError(`unknown MessageFromProcess tag ${tag} (expected 0 or 1)`);
  const recipient = readRecipient(reader);
  return { type: 'message', recipient, payload: readPayload(reader) };
}

/**
 * Checks what a guest handed to `stateroom_send` as {@link decodeFromProcess} would, without
 * building the payload: a host that decodes later (on another thread) refuses bad bytes
 * while the guest is still in the call that sent them.
 * @throws {@link CodecError} for exactly the bytes {@link decodeFromProcess} refuses.
 */
export function checkFromProcess(bytes: Uint8Array): void {
  const reader = new Reader(bytes);
  const tag = reader.u32('MessageFromProcess tag');
  if (tag === FROM_SET_TIMER) {
    reader.u32('SetTimer ms_delay');
    return;
  }
  if (tag !== FROM_MESSAGE) throw new CodecError(`unknown MessageFromProcess tag ${tag} (expected 0 or 1)`);
  readRecipient(reader);
  const text = readPayloadTag(reader) === PAYLOAD_TEXT;
  const bytesRead = reader.bytes(text ? 'Text' : 'Bytes');
  if (text && !isUtf8(bytesRead)) throw new CodecError('Text payload is not valid UTF-8');
}

/** Decodes a host → guest message: the guest side, for tests and tools. */
export function decodeToProcess(bytes: Uint8Array): MessageToProcess {
  const reader = new Reader(bytes);
  const tag = reader.u32('MessageToProcess tag');
  switch (tag) {
    case TO_PROCESS_TAG.init:
      return { type: 'init' };
    case TO_PROCESS_TAG.connect:
      return { type: 'connect', client: reader.u32('client') };
    case TO_PROCESS_TAG.disconnect:
      return { type: 'disconnect', client: reader.u32('client') };
    case TO_PROCESS_TAG.message:
      return { type: 'message', sender: reader.u32('sender'), payload: readPayload(reader) };
    case TO_PROCESS_TAG.timer:
      return { type: 'timer' };
    default:
      throw new CodecError(`unknown MessageToProcess tag ${tag} (expected 0 to 4)`);
  }
}

/** Encodes a guest → host message: the guest side, for tests and tools. */
export function encodeFromProcess(message: MessageFromProcess): Uint8Array {
  if (message.type === 'setTimer') return u32s(FROM_SET_TIMER, message.msDelay);
  const { recipient, payload } = message;
  const head =
    recipient === 'broadcast'
      ? u32s(FROM_MESSAGE, RECIPIENT_BROADCAST)
      : typeof recipient === 'number'
        ? u32s(FROM_MESSAGE, RECIPIENT_CLIENT, recipient)
        : u32s(FROM_MESSAGE, RECIPIENT_EXCEPT, recipient.except);
  const body = typeof payload === 'string' ? utf8.encode(payload) : payload;
  const out = new Uint8Array(head.length + 12 + body.length);
  out.set(head);
  const view = new DataView(out.buffer);
  view.setUint32(head.length, typeof payload === 'string' ? PAYLOAD_TEXT : PAYLOAD_BYTES, true);
  view.setBigUint64(head.length + 4, BigInt(body.length), true);
  out.set(body, head.length + 12);
  return out;
}

function payloadLength(payload: Payload): number {
  return typeof payload === 'string' ? Buffer.byteLength(payload, 'utf8') : payload.byteLength;
}

function readRecipient(reader: Reader): Recipient {
  const tag = reader.u32('MessageRecipient tag');
  if (tag === RECIPIENT_BROADCAST) return 'broadcast';
  if (tag === RECIPIENT_CLIENT) return reader.u32('Client id');
  if (tag === RECIPIENT_EXCEPT) return { except: reader.u32('EveryoneExcept id') };
  throw new CodecError(`unknown MessageRecipient tag ${tag} (expected 0, 1 or 2)`);
}

function readPayloadTag(reader: Reader): number {
  const tag = reader.u32('MessagePayload tag');
  if (tag !== PAYLOAD_BYTES && tag !== PAYLOAD_TEXT) {
    throw new CodecError(`unknown MessagePayload tag ${tag} (expected 0 or 1)`);
  }
  return tag;
}

function readPayload(reader: Reader): Payload {
  const tag = readPayloadTag(reader);
  const bytes = reader.bytes(tag === PAYLOAD_TEXT ? 'Text' : 'Bytes');
  if (tag === PAYLOAD_BYTES) return bytes.slice();
  try {
    return strictUtf8.decode(bytes);
  } catch {
    throw new CodecError('Text payload is not valid UTF-8');
  }
}

function u32s(...values: number[]): Uint8Array {
  const out = new Uint8Array(values.length * 4);
  const view = new DataView(out.buffer);
  values.forEach((value, i) => view.setUint32(i * 4, value, true));
  return out;
}

/** Reads fixed-width little-endian values, refusing to run past the end. */
class Reader {
  private offset = 0;

  constructor(private readonly source: Uint8Array) {}

  u32(what: string): number {
    this.need(4, what);
    const value = readU32(this.source, this.offset);
    this.offset += 4;
    return value;
  }

  /** A u64 length, then that many bytes (a view, not a copy). */
  bytes(what: string): Uint8Array {
    this.need(8, `${what} length`);
    const low = readU32(this.source, this.offset);
    const high = readU32(this.source, this.offset + 4);
    this.offset += 8;
    const left = this.source.byteLength - this.offset;
    if (high !== 0 || low > left) {
      const length = (BigInt(high) << 32n) | BigInt(low);
      throw new CodecError(`${what} claims ${length} bytes but only ${left} follow`);
    }
    const start = this.offset;
    this.offset += low;
    return this.source.subarray(start, this.offset);
  }

  private need(count: number, what: string): void {
    if (this.offset + count > this.source.byteLength) {
      throw new CodecError(`truncated: ${what} needs ${count} bytes at offset ${this.offset} of ${this.source.byteLength}`);
    }
  }
}

/** A little-endian u32 at `at`; byte by byte rather than through a DataView: no view to allocate per message. */
export function readU32(bytes: Uint8Array, at: number): number {
  return (bytes[at]! | (bytes[at + 1]! << 8) | (bytes[at + 2]! << 16) | (bytes[at + 3]! << 24)) >>> 0;
}

function writeU32(bytes: Uint8Array, at: number, value: number): void {
  bytes[at] = value;
  bytes[at + 1] = value >>> 8;
  bytes[at + 2] = value >>> 16;
  bytes[at + 3] = value >>> 24;
}

/** A u64 below 2^32 (every length here): the value, then four zero bytes. */
function writeU64(bytes: Uint8Array, at: number, value: number): void {
  writeU32(bytes, at, value);
  writeU32(bytes, at + 4, 0);
}
