/**
 * Server-to-client WebSocket frames (RFC 6455 §5.2), built once per message so that a
 * broadcast writes the very same bytes to every recipient instead of encoding and framing
 * the payload again for each one, as `ws.send` would.
 * @module
 */
import type { Payload } from '../service/types.js';

const FIN = 0x80;
const OPCODE_TEXT = 0x1;
const OPCODE_BINARY = 0x2;
/** Above this, header and payload are written as two chunks rather than copied into one. */
const COPY_LIMIT = 16 * 1024;

/** The bytes of one frame: one buffer, or header then payload for large binary payloads. */
export type Frame = Buffer | readonly [Buffer, Uint8Array];

/** Header length for a payload of `length` bytes (server frames are never masked). */
function headerLength(length: number): number {
  if (length < 126) return 2;
  return length < 65_536 ? 4 : 10;
}

function writeHeader(target: Buffer, opcode: number, length: number): void {
  target[0] = FIN | opcode;
  if (length < 126) {
    target[1] = length;
  } else if (length < 65_536) {
    target[1] = 126;
    target.writeUInt16BE(length, 2);
  } else {
    target[1] = 127;
    // A frame length is 63 bits; ours stay far below 2^53.
    target.writeUInt32BE(Math.floor(length / 2 ** 32), 2);
    target.writeUInt32BE(length >>> 0, 6);
  }
}

/** A text frame holding `text` as UTF-8, in one buffer. */
function textFrame(text: string): Buffer {
  const length = Buffer.byteLength(text, 'utf8');
  const header = headerLength(length);
  const frame = Buffer.allocUnsafe(header + length);
  writeHeader(frame, OPCODE_TEXT, length);
  frame.write(text, header, 'utf8');
  return frame;
}

/** A binary frame: copied behind its header when small, else header and payload apart. */
function binaryFrame(bytes: Uint8Array): Frame {
  const header = headerLength(bytes.length);
  if (bytes.length > COPY_LIMIT) {
    const head = Buffer.allocUnsafe(header);
    writeHeader(head, OPCODE_BINARY, bytes.length);
    return [head, bytes];
  }
  const frame = Buffer.allocUnsafe(header + bytes.length);
  writeHeader(frame, OPCODE_BINARY, bytes.length);
  frame.set(bytes, header);
  return frame;
}

/** The frame for `payload`: text for a string, binary for bytes. */
export function frameOf(payload: Payload): Frame {
  return typeof payload === 'string' ? textFrame(payload) : binaryFrame(payload);
}
