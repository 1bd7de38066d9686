// The ABI's two message types (upstream's `MessageToProcess` and `MessageFromProcess`) as
// `bincode::serialize` 1.x writes them: enum variant indices are u32 little-endian,
// `String`/`Vec<u8>` are a u64 length and the bytes, a `ClientId` is its u32. Bytes after
// a complete message are ignored, as `bincode::deserialize` does. See docs/wasm.md.

import { ClientId } from "./client-id";
import { Payload } from "./payload";
import { ByteReader } from "./reader";
import { Recipient, RecipientKind } from "./recipient";
import { ByteWriter } from "./writer";

/** `MessageToProcess` variant indices (host to guest). */
export const enum EventKind {
  Init = 0,
  Connect = 1,
  Disconnect = 2,
  Message = 3,
  Timer = 4,
}

/** `MessageFromProcess` variant indices (guest to host). */
const enum OutgoingKind {
  Message = 0,
  SetTimer = 1,
}

/** `MessagePayload` variant indices. */
const enum PayloadKind {
  Bytes = 0,
  Text = 1,
}

/**
 * One decoded `MessageToProcess`. There is one, filled anew by each {@link decodeEvent}:
 * the room reads it during that call only, and services never see it.
 */
export class HostEvent {
  kind: EventKind = EventKind.Init;
  /** The client of `Connect`, `Disconnect` and `Message`; 0 otherwise. */
  client: ClientId = 0;
  /** The content of `Message`; null otherwise. */
  payload: Payload | null = null;

  /** Internal: fills the one event anew (see {@link decodeEvent}). */
  fill(kind: EventKind, client: ClientId, payload: Payload | null): HostEvent {
    this.kind = kind;
    this.client = client;
    this.payload = payload;
    return this;
  }
}

const EVENT = new HostEvent();

/** Decodes the `MessageToProcess` at `address`; throws (so traps) if it is malformed. */
export function decodeEvent(address: usize, length: usize): HostEvent {
  const reader = new ByteReader(address, length);
  const kind = reader.u32();
  switch (kind) {
    case EventKind.Init:
    case EventKind.Timer:
      return EVENT.fill(kind, 0, null);
    case EventKind.Connect:
    case EventKind.Disconnect:
      return EVENT.fill(kind, reader.u32(), null);
    case EventKind.Message: {
      const sender = reader.u32();
      return EVENT.fill(kind, sender, decodePayload(reader));
    }
    default:
      throw new Error("stateroom: unknown MessageToProcess variant " + kind.toString());
  }
}

function decodePayload(reader: ByteReader): Payload {
  const kind = reader.u32();
  if (kind == PayloadKind.Text) return Payload.fromCheckedUtf8(reader.utf8());
  if (kind == PayloadKind.Bytes) return Payload.fromBytes(reader.bytes());
  throw new Error("stateroom: unknown MessagePayload variant " + kind.toString());
}

/** The encoded size of a `MessageRecipient`: its index, plus the ClientId unless broadcast. */
function recipientSize(recipient: Recipient): usize {
  return recipient.kind == RecipientKind.Broadcast ? 4 : 8;
}

function writeRecipient(writer: ByteWriter, recipient: Recipient): void {
  writer.u32(<u32>recipient.kind);
  if (recipient.kind != RecipientKind.Broadcast) writer.u32(recipient.client);
}

/**
 * Starts a `MessageFromProcess::Message` whose payload has `dataLength` bytes: allocates
 * the exact buffer and writes everything up to the payload's data.
 */
function startMessage(
  recipient: Recipient,
  payloadKind: PayloadKind,
  dataLength: usize,
): ByteWriter {
  const size: usize = 4 + recipientSize(recipient) + 4 + 8 + dataLength;
  const writer = ByteWriter.start(size);
  writer.u32(OutgoingKind.Message);
  writeRecipient(writer, recipient);
  writer.u32(payloadKind);
  writer.length64(dataLength);
  return writer;
}

/**
 * Encodes `Message { recipient, Text(text) }`. A lone UTF-16 surrogate (which an
 * AssemblyScript string may hold) becomes U+FFFD, so the host always gets valid UTF-8.
 */
export function encodeTextMessage(recipient: Recipient, text: string): ByteWriter {
  const dataLength = <usize>String.UTF8.byteLength(text);
  const writer = startMessage(recipient, PayloadKind.Text, dataLength);
  String.UTF8.encodeUnsafe(
    changetype<usize>(text),
    text.length,
    writer.cursor,
    false,
    String.UTF8.ErrorMode.REPLACE,
  );
  writer.skip(dataLength);
  return writer;
}

/**
 * Encodes `Message { recipient, Text(…) }` from the `length` bytes at `address`, already
 * well-formed UTF-8.
 */
export function encodeUtf8Message(recipient: Recipient, address: usize, length: usize): ByteWriter {
  return encodeRawMessage(recipient, PayloadKind.Text, address, length);
}

/** Encodes `Message { recipient, Bytes(bytes) }`. */
export function encodeBytesMessage(recipient: Recipient, bytes: Uint8Array): ByteWriter {
  return encodeRawMessage(recipient, PayloadKind.Bytes, bytes.dataStart, <usize>bytes.byteLength);
}

/** A `Message` whose payload's data is the `length` bytes at `address`, copied as they are. */
function encodeRawMessage(recipient: Recipient, payloadKind: PayloadKind, address: usize, length: usize): ByteWriter {
  const writer = startMessage(recipient, payloadKind, length);
  writer.raw(address, length);
  return writer;
}

/** Encodes `SetTimer { ms_delay }`. */
export function encodeSetTimer(delayMs: u32): ByteWriter {
  const writer = ByteWriter.start(8);
  writer.u32(OutgoingKind.SetTimer);
  writer.u32(delayMs);
  return writer;
}
