/**
 * A room image on disk (or in any store): what a saved room is, as bytes. The body — the
 * adapter's own bytes, opaque here — is compressed off the main thread (brotli on libuv's pool,
 * or on the state directory's writer thread: encodeImageSync),
 * and the image carries a magic, a format version, its header fields and two CRC-32s: one over
 * the header alone, so a listing can trust a header without reading the body, and one over the
 * whole file, so a torn, truncated, bit-flipped or foreign file is always refused, never
 * half-restored.
 *
 * Layout, integers little-endian (docs/durability.md shows it too):
 * ```
 * offset   bytes  field
 * 0        8      magic 89 53 52 49 4D 47 0D 0A ("\x89SRIMG\r\n": binary, and a CR/LF
 *                 mangled by a text-mode copy shows)
 * 8        2      format version (2; version 1 images are still read)
 * 10       4      H: length of the header fields
 * 14       H      header fields:
 *                   u8 kind (1 wasm, 2 native) · u8 compression (0 stored, 1 raw deflate,
 *                   2 brotli: version 2 only)
 *                   u8 flags (bit 0: a timer is pending) · u8 reserved (0)
 *                   f64 savedAt (epoch ms) · f64 timerDueAt (epoch ms; 0 without a timer)
 *                   u64 bodyBytes (uncompressed) · u64 storedBytes (as stored)
 *                   u32 n + n bytes: room id, UTF-16LE code units (any JS string, exactly)
 *                   u32 n + n bytes: module hash, UTF-16LE
 * 14+H     4      CRC-32 of bytes [0, 14+H)
 * 18+H     S      the body, as stored (S = storedBytes)
 * 18+H+S   4      CRC-32 of every byte before it
 * ```
 * Version 2 differs from version 1 only in compression 2: brotli at quality 1 compresses a
 * guest's memory about twice as fast as deflate at level 1, to the same size, and gives up on
 * incompressible bytes at once (deflate spends ~20 ms per MiB on them). bench/README.md has the
 * figures.
 * @module
 */
import { promisify } from 'node:util';
import { createHash } from 'node:crypto';
import zlib from 'node:zlib';
import { ErrorCode, StateroomError } from '../errors.js';
import type { ImageKind } from '../service/adapter.js';

/** A saved room: what its adapter gave, and what it must match to be restored. */
export interface RoomImage {
  /** The room's id: any string (stored as UTF-16 code units, so even a lone surrogate round-trips). */
  readonly roomId: string;
  /** Which kind of adapter made the body; only that kind restores it. */
  readonly kind: ImageKind;
  /** sha256 hex of the WASM module the body came from; `''` for native services. */
  readonly moduleHash: string;
  /** When the room was captured, in epoch ms. */
  readonly savedAt: number;
  /** When the room's pending timer is due, in epoch ms; `undefined` without one. */
  readonly timerDueAt: number | undefined;
  /** The adapter's bytes, uncompressed. */
  readonly body: Uint8Array;
}

/** An image's header: everything but the body, plus its sizes. */
export interface ImageHeader extends Omit<RoomImage, 'body'> {
  /** Size of the body uncompressed. */
  readonly bodyBytes: number;
  /** Size of the body as stored (compressed, or as is when compression did not pay). */
  readonly storedBytes: number;
}

/** Options of {@link decodeImage}. */
export interface DecodeOptions {
  /**
   * The largest body decoded, uncompressed, in bytes: an image declaring more is refused
   * before anything is inflated, and inflating stops there whatever the image declares, so a
   * crafted image cannot blow up memory. Default {@link DEFAULT_MAX_BODY_BYTES}.
   */
  readonly maxBodyBytes?: number;
}

/** Options of {@link encodeImage}. */
export interface EncodeOptions {
  /**
   * `'brotli'` (the default) writes a format version 2 image; `'deflate'` writes a version 1
   * image, as stateroom did before brotli (readable by older versions).
   */
  readonly compression?: 'brotli' | 'deflate';
  /**
   * Brotli quality (0–11, default {@link DEFAULT_BROTLI_QUALITY}) or zlib level (1–9, default
   * {@link DEFAULT_COMPRESSION_LEVEL}), for the compression chosen.
   */
  readonly level?: number;
}

/** 1 GiB: far above a guest's default 64 MiB memory limit, far below what would hurt to inflate. */
export const DEFAULT_MAX_BODY_BYTES = 1024 * 1024 * 1024;
/**
 * Level 1: guest memory is mostly zero pages and repeated allocator patterns, which level 1
 * already folds; higher levels cost several times the CPU for a few percent (docs/durability.md).
 */
export const DEFAULT_COMPRESSION_LEVEL = 1;
/**
 * Quality 1: on a 64 KiB AssemblyScript heap half the CPU of deflate level 1 for the same
 * size; on a mostly-zero 1 MiB Rust heap a third; quality 0 is slower on long zero runs.
 */
export const DEFAULT_BROTLI_QUALITY = 1;
/** The format version this code writes (with brotli); it reads this one and every earlier one. */
export const IMAGE_FORMAT_VERSION = 2;
/** The first format version: the same layout, without brotli. */
const DEFLATE_FORMAT_VERSION = 1;

const MAGIC = Uint8Array.of(0x89, 0x53, 0x52, 0x49, 0x4d, 0x47, 0x0d, 0x0a);
/** Magic, version and header length: what must be read to know how long the header is. */
export const IMAGE_PREAMBLE_BYTES = MAGIC.length + 2 + 4;
/** The header fields before the two strings. */
const FIXED_FIELDS_BYTES = 4 + 8 + 8 + 8 + 8;
const CRC_BYTES = 4;
/** A header longer than this is corrupt (room ids are a few KiB at most): nothing huge is allocated on a bad length. */
const MAX_HEADER_FIELDS_BYTES = 1024 * 1024;

const KIND_CODES: Readonly<Record<ImageKind, number>> = { wasm: 1, native: 2 };
const KINDS: ReadonlyMap<number, ImageKind> = new Map(Object.entries(KIND_CODES).map(([kind, code]) => [code, kind as ImageKind]));
const STORED = 0;
const DEFLATE = 1;
const BROTLI = 2;
const FLAG_TIMER = 1;

const deflateRaw = promisify(zlib.deflateRaw);
const inflateRaw = promisify(zlib.inflateRaw);
const brotliCompress = promisify(zlib.brotliCompress);
const brotliDecompress = promisify(zlib.brotliDecompress);

/** An image in three pieces, to be written one after the other: what {@link encodeImageSync} makes without copying the body into one buffer. */
export interface ImageParts {
  /** Magic, version, header fields and the header's CRC-32. */
  readonly head: Buffer;
  /** The body as stored: compressed, or the body itself when compression did not pay. */
  readonly stored: Uint8Array;
  /** The CRC-32 of `head` and `stored`. */
  readonly tail: Buffer;
}

/**
 * The bytes of `image`: its body compressed (brotli, or raw deflate for a version 1 image) on
 * libuv's thread pool (never on the caller's thread), or stored as is when compression would
 * not make it smaller.
 *
 * @throws TypeError when a field is out of its range (a caller's bug, not a disk problem).
 */
export async function encodeImage(image: RoomImage, options: EncodeOptions = {}): Promise<Uint8Array> {
  checkImage(image);
  const brotli = (options.compression ?? 'brotli') === 'brotli';
  const { body } = image;
  const compressed = body.length === 0 ? body : await compress(body, brotli, options.level);
  return joinImage(assemble(image, compressed, brotli));
}

/**
 * {@link encodeImage} on the caller's thread, in pieces: for a thread whose whole job is to
 * encode and write images (the state directory's writer), where a promise per step would cost
 * more than the work.
 *
 * @throws TypeError when a field is out of its range.
 */
export function encodeImageSync(image: RoomImage, options: EncodeOptions = {}): ImageParts {
  checkImage(image);
  const brotli = (options.compression ?? 'brotli') === 'brotli';
  const { body } = image;
  return assemble(image, body.length === 0 ? body : compressSync(body, brotli, options.level), brotli);
}

/** The image's pieces as one buffer. */
export function joinImage({ head, stored, tail }: ImageParts): Buffer {
  const out = Buffer.allocUnsafe(head.length + stored.length + tail.length);
  out.set(head, 0);
  out.set(stored, head.length);
  out.set(tail, head.length + stored.length);
  return out;
}

/** The header and trailer around `compressed` — or around the body itself, when compression did not make it smaller. */
function assemble(image: RoomImage, compressed: Uint8Array, brotli: boolean): ImageParts {
  const { body } = image;
  const useStored = compressed.length >= body.length;
  const stored = useStored ? body : compressed;
  const roomId = Buffer.from(image.roomId, 'utf16le');
  const moduleHash = Buffer.from(image.moduleHash, 'utf16le');
  const fieldsBytes = FIXED_FIELDS_BYTES + 4 + roomId.length + 4 + moduleHash.length;
  if (fieldsBytes > MAX_HEADER_FIELDS_BYTES) throw new TypeError(`room image: the room id and module hash take ${fieldsBytes} bytes; at most ${MAX_HEADER_FIELDS_BYTES}`);
  const headerEnd = IMAGE_PREAMBLE_BYTES + fieldsBytes;
  const head = Buffer.allocUnsafe(headerEnd + CRC_BYTES);

  head.set(MAGIC, 0);
  let at = MAGIC.length;
  at = head.writeUInt16LE(brotli ? IMAGE_FORMAT_VERSION : DEFLATE_FORMAT_VERSION, at);
  at = head.writeUInt32LE(fieldsBytes, at);
  at = head.writeUInt8(KIND_CODES[image.kind], at);
  at = head.writeUInt8(useStored ? STORED : brotli ? BROTLI : DEFLATE, at);
  at = head.writeUInt8(image.timerDueAt === undefined ? 0 : FLAG_TIMER, at);
  at = head.writeUInt8(0, at);
  at = head.writeDoubleLE(image.savedAt, at);
  at = head.writeDoubleLE(image.timerDueAt ?? 0, at);
  at = head.writeBigUInt64LE(BigInt(body.length), at);
  at = head.writeBigUInt64LE(BigInt(stored.length), at);
  for (const text of [roomId, moduleHash]) {
    at = head.writeUInt32LE(text.length, at);
    head.set(text, at);
    at += text.length;
  }
  head.writeUInt32LE(zlib.crc32(head.subarray(0, headerEnd)), at);
  const tail = Buffer.allocUnsafe(CRC_BYTES);
  tail.writeUInt32LE(zlib.crc32(stored, zlib.crc32(head)), 0);
  return { head, stored, tail };
}

function compress(body: Uint8Array, brotli: boolean, level: number | undefined): Promise<Buffer> {
  return brotli ? brotliCompress(body, brotliOptions(body, level)) : deflateRaw(body, { level: level ?? DEFAULT_COMPRESSION_LEVEL });
}

function compressSync(body: Uint8Array, brotli: boolean, level: number | undefined): Buffer {
  return brotli ? zlib.brotliCompressSync(body, brotliOptions(body, level)) : zlib.deflateRawSync(body, { level: level ?? DEFAULT_COMPRESSION_LEVEL });
}

/**
 * The window just large enough for the body (brotli's default is 4 MiB): the encoder sets up
 * and clears less for each image — on a 64 KiB heap a third of its CPU — and the output of a
 * body smaller than the window is the same size. Decoders read the window from the stream.
 */
function brotliWindowBits(bytes: number): number {
  const { BROTLI_MIN_WINDOW_BITS, BROTLI_DEFAULT_WINDOW } = zlib.constants;
  // A window of `lgwin` bits holds 2^lgwin - 16 bytes (RFC 7932).
  return Math.min(BROTLI_DEFAULT_WINDOW, Math.max(BROTLI_MIN_WINDOW_BITS, Math.ceil(Math.log2(bytes + 16))));
}

function brotliOptions(body: Uint8Array, level: number | undefined): zlib.BrotliOptions {
  const { BROTLI_PARAM_QUALITY, BROTLI_PARAM_SIZE_HINT, BROTLI_PARAM_LGWIN } = zlib.constants;
  return { params: { [BROTLI_PARAM_QUALITY]: level ?? DEFAULT_BROTLI_QUALITY, [BROTLI_PARAM_SIZE_HINT]: body.length, [BROTLI_PARAM_LGWIN]: brotliWindowBits(body.length) } };
}

/**
 * Whether two images (as {@link encodeImage} made them) hold the same saved room: equal in every
 * byte but their `savedAt` and the checksums that cover it. `undefined` is the same as nothing.
 * Brotli and deflate are deterministic for one input and level, so two saves of an unchanged
 * room make the same bytes; any change — memory, a global, a client, the timer — changes them.
 */
export function sameSavedRoom(a: Uint8Array | undefined, b: Uint8Array): boolean {
  if (a === undefined || a.byteLength !== b.byteLength || a.byteLength < IMAGE_PREAMBLE_BYTES) return false;
  const x = asBuffer(a);
  const y = asBuffer(b);
  const savedAt = IMAGE_PREAMBLE_BYTES + 4;
  const headerEnd = IMAGE_PREAMBLE_BYTES + x.readUInt32LE(MAGIC.length + 2);
  if (headerEnd + 2 * CRC_BYTES > x.byteLength) return false;
  const equal = (from: number, to: number): boolean => x.subarray(from, to).equals(y.subarray(from, to));
  return equal(0, savedAt) && equal(savedAt + 8, headerEnd) && equal(headerEnd + CRC_BYTES, x.byteLength - CRC_BYTES);
}

/**
 * A digest of what {@link sameSavedRoom} compares (every byte but `savedAt` and the CRCs): two
 * images of one room have equal digests exactly when they hold the same saved room (but for a
 * SHA-256 collision). What a keeper remembers of a room's last image: 64 characters, not the image.
 */
export function savedRoomDigest(image: Uint8Array): string {
  const x = asBuffer(image);
  if (x.byteLength < IMAGE_PREAMBLE_BYTES) return createHash('sha256').update(x).digest('hex');
  const headEnd = Math.min(x.byteLength, IMAGE_PREAMBLE_BYTES + x.readUInt32LE(MAGIC.length + 2) + CRC_BYTES);
  return digestOfParts(x.subarray(0, headEnd), x.subarray(headEnd, Math.max(headEnd, x.byteLength - CRC_BYTES)));
}

/** {@link savedRoomDigest} of an image in pieces (equal to that of the pieces joined). */
export function imagePartsDigest({ head, stored }: ImageParts): string {
  return digestOfParts(head, stored);
}

/** SHA-256 of `head` but for its `savedAt` and its CRC, then `stored`. */
function digestOfParts(head: Buffer, stored: Uint8Array): string {
  const savedAt = IMAGE_PREAMBLE_BYTES + 4;
  return createHash('sha256')
    .update(head.subarray(0, savedAt))
    .update(head.subarray(savedAt + 8, Math.max(savedAt + 8, head.length - CRC_BYTES)))
    .update(stored)
    .digest('hex');
}

/**
 * How many bytes from the start of an image hold its whole header (preamble, fields and the
 * header's CRC) — for a reader that reads a file's first bytes only. `prefix` needs at least
 * {@link IMAGE_PREAMBLE_BYTES}.
 *
 * @throws {@link StateroomError} `SR_ERR_IMAGE_CORRUPT` when the prefix is not the start of an image this code reads.
 */
export function imageHeaderBytes(prefix: Uint8Array, where?: string): number {
  const bytes = asBuffer(prefix);
  if (bytes.length === 0) throw corrupt(where, 'the file is empty');
  if (bytes.length < IMAGE_PREAMBLE_BYTES) {
    throw corrupt(where, startsWithMagic(bytes) ? `truncated: ${bytes.length} bytes, not even a header` : notAnImage(bytes));
  }
  if (!startsWithMagic(bytes)) throw corrupt(where, notAnImage(bytes));
  const version = bytes.readUInt16LE(MAGIC.length);
  if (version < DEFLATE_FORMAT_VERSION || version > IMAGE_FORMAT_VERSION) {
    throw corrupt(where, `format version ${version}; this stateroom reads versions ${DEFLATE_FORMAT_VERSION} to ${IMAGE_FORMAT_VERSION} (written by a newer stateroom, or corrupt)`);
  }
  const fieldsBytes = bytes.readUInt32LE(MAGIC.length + 2);
  if (fieldsBytes < FIXED_FIELDS_BYTES + 8 || fieldsBytes > MAX_HEADER_FIELDS_BYTES) {
    throw corrupt(where, `the header length (${fieldsBytes} bytes) is impossible`);
  }
  return IMAGE_PREAMBLE_BYTES + fieldsBytes + CRC_BYTES;
}

/**
 * The header of an image, checked against its own CRC, without touching the body (no
 * decompression, no checksum of the body): cheap enough for listing thousands of images.
 * `bytes` may be just the file's first {@link imageHeaderBytes} bytes; `totalBytes` is then
 * the file's size, checked against the sizes the header declares, so a truncated or extended
 * file shows here too.
 *
 * @param where - Where the bytes came from (a file), named in errors.
 * @throws {@link StateroomError} `SR_ERR_IMAGE_CORRUPT` naming what is wrong and where.
 */
export function readImageHeader(bytes: Uint8Array, where?: string, totalBytes: number = bytes.length): ImageHeader {
  const buf = asBuffer(bytes);
  const headerBytes = imageHeaderBytes(buf, where);
  if (buf.length < headerBytes) {
    if (totalBytes === buf.length) throw corrupt(where, `truncated: ${buf.length} bytes, shorter than its header (${headerBytes} bytes)`);
    throw new RangeError(`readImageHeader: needs the first ${headerBytes} bytes, got ${buf.length}`);
  }
  const headerEnd = headerBytes - CRC_BYTES;
  if (zlib.crc32(buf.subarray(0, headerEnd)) !== buf.readUInt32LE(headerEnd)) {
    throw corrupt(where, 'the header checksum does not match (a torn write, or a damaged file)');
  }
  // The CRC matched, so these fields are as written; still checked, each on its own, so a
  // reader never trusts a value this code would not have written.
  let at = IMAGE_PREAMBLE_BYTES;
  const kind = KINDS.get(buf.readUInt8(at));
  const compression = buf.readUInt8(at + 1);
  const flags = buf.readUInt8(at + 2);
  const reserved = buf.readUInt8(at + 3);
  at += 4;
  if (kind === undefined) throw corrupt(where, `unknown kind ${buf.readUInt8(IMAGE_PREAMBLE_BYTES)}`);
  const version = buf.readUInt16LE(MAGIC.length);
  if (compression !== STORED && compression !== DEFLATE && (compression !== BROTLI || version < IMAGE_FORMAT_VERSION)) {
    throw corrupt(where, `unknown compression ${compression} in a version ${version} image`);
  }
  if ((flags & ~FLAG_TIMER) !== 0 || reserved !== 0) throw corrupt(where, `unknown flags ${flags}/${reserved}`);
  const savedAt = buf.readDoubleLE(at);
  const timerField = buf.readDoubleLE(at + 8);
  at += 16;
  if (!isTime(savedAt)) throw corrupt(where, `savedAt ${savedAt} is not a time`);
  const hasTimer = (flags & FLAG_TIMER) !== 0;
  if (hasTimer ? !isTime(timerField) : timerField !== 0) throw corrupt(where, `timerDueAt ${timerField} does not fit its flag`);
  const bodyBytes = safeSize(buf.readBigUInt64LE(at), 'bodyBytes', where);
  const storedBytes = safeSize(buf.readBigUInt64LE(at + 8), 'storedBytes', where);
  at += 16;
  if (compression === STORED && storedBytes !== bodyBytes) throw corrupt(where, `a stored body of ${storedBytes} bytes declares ${bodyBytes}`);
  const [roomId, afterRoomId] = readText(buf, at, headerEnd, 'room id', where);
  const [moduleHash, afterHash] = readText(buf, afterRoomId, headerEnd, 'module hash', where);
  if (afterHash !== headerEnd) throw corrupt(where, `${headerEnd - afterHash} unexplained bytes in the header`);

  const expected = headerBytes + storedBytes + CRC_BYTES;
  if (totalBytes < expected) throw corrupt(where, `truncated: ${totalBytes} bytes of ${expected}`);
  if (totalBytes > expected) throw corrupt(where, `${totalBytes - expected} bytes more than the ${expected} it declares`);
  return { roomId, kind, moduleHash, savedAt, timerDueAt: hasTimer ? timerField : undefined, bodyBytes, storedBytes };
}

/**
 * The image in `bytes`, every byte checked: header and whole-file CRCs, declared sizes, and
 * the inflated body's length. Inflates on libuv's thread pool, bounded by `maxBodyBytes`.
 *
 * @param where - Where the bytes came from (a file), named in errors.
 * @throws {@link StateroomError} `SR_ERR_IMAGE_CORRUPT` naming what is wrong and where; never returns part of an image.
 */
export async function decodeImage(bytes: Uint8Array, where?: string, options: DecodeOptions = {}): Promise<RoomImage> {
  const buf = asBuffer(bytes);
  const header = readImageHeader(buf, where);
  const maxBodyBytes = options.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES;
  if (header.bodyBytes > maxBodyBytes) {
    throw corrupt(where, `its body would be ${header.bodyBytes} bytes uncompressed, over the limit of ${maxBodyBytes}`);
  }
  const trailer = buf.length - CRC_BYTES;
  if (zlib.crc32(buf.subarray(0, trailer)) !== buf.readUInt32LE(trailer)) {
    throw corrupt(where, 'the checksum does not match (a torn write, or a damaged file)');
  }
  const stored = buf.subarray(trailer - header.storedBytes, trailer);
  let body: Uint8Array = stored;
  const compression = buf.readUInt8(IMAGE_PREAMBLE_BYTES + 1);
  if (compression !== STORED) {
    // One byte more than declared: a body that inflates past its declared size is caught by
    // the length check below instead of being cut to fit.
    const bounded = { maxOutputLength: Math.max(1, header.bodyBytes + 1) };
    try {
      body = compression === BROTLI ? await brotliDecompress(stored, bounded) : await inflateRaw(stored, bounded);
    } catch (err) {
      throw corrupt(where, `its body does not inflate (${err instanceof Error ? err.message : String(err)})`, err);
    }
    if (body.length !== header.bodyBytes) throw corrupt(where, `its body inflates to ${body.length} bytes, not the ${header.bodyBytes} declared`);
  } else {
    body = new Uint8Array(stored); // a copy: the caller's buffer may be reused
  }
  const { bodyBytes: _b, storedBytes: _s, ...fields } = header;
  return { ...fields, body };
}

/**
 * Checks every field of `image` against its range.
 * @throws TypeError naming the field (a caller's bug, not a disk problem).
 */
export function checkImage(image: RoomImage): void {
  if (typeof image.roomId !== 'string') throw new TypeError('room image: roomId must be a string');
  if (!(image.kind in KIND_CODES)) throw new TypeError(`room image: kind must be 'wasm' or 'native', not ${String(image.kind)}`);
  if (typeof image.moduleHash !== 'string') throw new TypeError('room image: moduleHash must be a string');
  if (!isTime(image.savedAt)) throw new TypeError(`room image: savedAt must be a time in epoch ms, not ${image.savedAt}`);
  if (image.timerDueAt !== undefined && !isTime(image.timerDueAt)) throw new TypeError(`room image: timerDueAt must be a time in epoch ms, not ${image.timerDueAt}`);
  if (!(image.body instanceof Uint8Array)) throw new TypeError('room image: body must be a Uint8Array');
}

const isTime = (ms: number): boolean => Number.isFinite(ms) && ms >= 0;

function safeSize(value: bigint, name: string, where: string | undefined): number {
  if (value > BigInt(Number.MAX_SAFE_INTEGER)) throw corrupt(where, `${name} ${value} is impossible`);
  return Number(value);
}

function readText(buf: Buffer, at: number, end: number, name: string, where: string | undefined): [string, number] {
  if (at + 4 > end) throw corrupt(where, `the header ends before the ${name}`);
  const length = buf.readUInt32LE(at);
  const start = at + 4;
  if (length % 2 !== 0 || start + length > end) throw corrupt(where, `the ${name}'s length (${length}) does not fit the header`);
  return [buf.toString('utf16le', start, start + length), start + length];
}

function startsWithMagic(bytes: Buffer): boolean {
  const n = Math.min(bytes.length, MAGIC.length);
  return n > 0 && bytes.subarray(0, n).equals(MAGIC.subarray(0, n));
}

function notAnImage(bytes: Buffer): string {
  const start = [...bytes.subarray(0, 8)].map((b) => b.toString(16).padStart(2, '0')).join(' ');
  return `not a room image (it starts with ${start}${bytes.length > 8 ? ' …' : ''})`;
}

function asBuffer(bytes: Uint8Array): Buffer {
  return Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

function corrupt(where: string | undefined, what: string, cause?: unknown): StateroomError {
  const message = `room image ${where ?? '(in memory)'} is unusable: ${what}`;
  return new StateroomError(ErrorCode.IMAGE_CORRUPT, message, where === undefined ? {} : { file: where }, cause === undefined ? undefined : { cause });
}
