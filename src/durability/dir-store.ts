/**
 * The embedded room store: one file per room in a directory (`--state-dir`).
 *
 * File names: a room id is any string (`../x`, `a/b`, NUL, 10 KiB, ids differing only in
 * case or in Unicode normalisation), so it is never a file name. A room's file is named by
 * the SHA-256 of its id's UTF-16 code units, `<64 hex>.room` — fixed length, lower case, safe
 * on every file system — and the id itself lives in the image's header, where `list()` reads
 * it back (the first few KiB of each file, never the body). This store therefore keeps images
 * (image.ts bytes), not arbitrary bytes.
 *
 * Writes are crash-safe: a temporary file beside the image (`<name>.tmp-<pid>-<token>-<n>`),
 * written, fsynced, renamed over the image, then the directory fsynced, so a crash at any
 * moment leaves the old image or the new one. They run on the store's writer thread
 * (image-writer.ts), which also encodes the images the keeper saves, removes and sets aside
 * images, and changes that arrive together share one fsync of the directory, after the last
 * of them. Writes of one room are serialized (in call order, the last wins); temporary files
 * are invisible to `get`/`list` and removed at `open` once their writer is gone. Images set
 * aside are renamed `<name>.bad-<time>-<random>` with the reason in `<that>.why`.
 * @module
 */
import { createHash, randomBytes } from 'node:crypto';
import fs, { constants } from 'node:fs';
import { mkdir, open, readFile, readdir, stat, unlink, type FileHandle } from 'node:fs/promises';
import path from 'node:path';
import { ErrorCode, StateroomError } from '../errors.js';
import { checkImage, imageHeaderBytes, readImageHeader, IMAGE_PREAMBLE_BYTES, type ImageHeader, type RoomImage } from './image.js';
import { ImageWriter, type WrittenImage } from './image-writer.js';
import { encodeSavedRoomHead } from './saved-room.js';
import type { RoomState } from '../room/state.js';
import { isRunning } from '../process-alive.js';
import type { RoomStore } from '../room-store.js';
import { KeyQueue } from './key-queue.js';

/** One image file of the directory, as a listing sees it: its header, or why it has none. */
export type ImageFile =
  | { readonly ok: true; readonly file: string; readonly bytesOnDisk: number; readonly header: ImageHeader }
  | { readonly ok: false; readonly file: string; readonly bytesOnDisk: number; readonly problem: string };

/** What {@link DirectoryStore.scan} finds. */
export interface DirectoryScan {
  /** Every `<hash>.room` file, readable or not, by file name. */
  readonly images: ImageFile[];
  /** Files set aside by {@link DirectoryStore.setAside}, by name (their `.why` files left out). */
  readonly setAside: string[];
}

const IMAGE_NAME = /^[0-9a-f]{64}\.room$/;
/** Temporary files and write probes: `<pid>-<token>` says whose they are. */
const LEFTOVER_NAME = /^(?:[0-9a-f]{64}\.room\.tmp|\.probe)-(\d+)-([0-9a-f]+)(?:-\d+)?$/;
const SET_ASIDE_NAME = /^[0-9a-f]{64}\.room\.bad-[^/]+$/;
const WHY_SUFFIX = '.why';
/** Enough for the header of an image with an id of a few KiB: one read per file in a listing. */
const HEADER_READ_BYTES = 16 * 1024;
/** Headers read at once by a listing. */
const SCAN_CONCURRENCY = 16;
/**
 * A leftover older than this is removed even if a process with its pid runs: pids are reused
 * (in a container the server is often pid 1 on every start), and no write takes an hour.
 */
const STALE_LEFTOVER_MS = 60 * 60 * 1000;
/** Tells this process's temporary files from those of an earlier process that had the same pid. */
const PROCESS_TOKEN = randomBytes(6).toString('hex');
let written = 0;

/** A directory of room images; see the module comment for the layout. */
export class DirectoryStore implements RoomStore {
  readonly description: string;
  /** The tail of each room's queue of writes: a room's put/delete/setAside run one at a time. */
  private readonly queues = new KeyQueue();
  /** Encodes and writes images on its own thread, started by the first write. */
  private readonly writer: ImageWriter;

  /** @param dir - The state directory (`--state-dir`): one image file per saved room. */
  private constructor(readonly dir: string) {
    this.description = `directory ${dir}`;
    this.writer = new ImageWriter(dir);
  }

  /**
   * Opens `dir` for a server: creates it if missing (mode 0700: images hold room state),
   * proves it writable (a probe file written, fsynced and removed), and removes temporary files
   * left by writers that are gone (a crash mid-write).
   *
   * @throws {@link StateroomError} `SR_ERR_STATE_DIR`: one line naming the directory, the OS error and what to do.
   */
  static async open(dir: string): Promise<DirectoryStore> {
    const store = new DirectoryStore(path.resolve(dir));
    try {
      await mkdir(store.dir, { recursive: true, mode: 0o700 });
    } catch (err) {
      throw stateDirError(store.dir, 'cannot be created', err);
    }
    await store.checkDirectory();
    // Numbered like temporary files: two stores opening one directory at once must not collide.
    const probe = path.join(store.dir, `.probe-${process.pid}-${PROCESS_TOKEN}-${++written}`);
    try {
      writeProbe(probe);
      await unlink(probe);
    } catch (err) {
      await unlink(probe).catch(() => {});
      throw stateDirError(store.dir, 'is not writable', err);
    }
    await store.removeLeftovers();
    return store;
  }

  /**
   * Opens an existing `dir` for tools (`stateroom rooms`), writing nothing at open and removing
   * nothing but what is asked: a running server may be writing there.
   *
   * @throws {@link StateroomError} `SR_ERR_STATE_DIR` when it is missing, not a directory or unreadable.
   */
  static async openExisting(dir: string): Promise<DirectoryStore> {
    const store = new DirectoryStore(path.resolve(dir));
    await store.checkDirectory();
    return store;
  }

  /** `<dir>/<sha256 of the id's UTF-16 code units>.room`. */
  where(roomId: string): string {
    return path.join(this.dir, fileNameOf(roomId));
  }

  /**
   * The image of `roomId` as stored, unchecked beyond its header's room id.
   * @throws {@link StateroomError} `SR_ERR_IMAGE_CORRUPT` when the file's header is intact but
   * names another room (a file copied or renamed by hand); `SR_ERR_STATE_DIR` when unreadable.
   */
  async get(roomId: string): Promise<Uint8Array | undefined> {
    const file = this.where(roomId);
    let bytes: Buffer;
    try {
      bytes = await readFile(file);
    } catch (err) {
      if (errnoOf(err) === 'ENOENT') return undefined;
      throw ioError(`cannot read room image ${file}`, file, err);
    }
    let header: ImageHeader | undefined;
    try {
      header = readImageHeader(bytes, file);
    } catch {
      return bytes; // corrupt: the caller's decodeImage says how, with the file's name
    }
    if (header.roomId !== roomId) {
      throw new StateroomError(ErrorCode.IMAGE_CORRUPT, `room image ${file} holds room "${header.roomId}", not "${roomId}" (copied or renamed by hand?)`, {
        roomId,
        file,
      });
    }
    return bytes;
  }

  /**
   * Replaces the image of `roomId` crash-safely (see the module comment).
   * @throws TypeError when `bytes` is not an image of `roomId` (the id is read back from it).
   * @throws {@link StateroomError} `SR_ERR_STATE_DIR` when it cannot be written (disk full…); the old image stays.
   */
  async put(roomId: string, bytes: Uint8Array): Promise<void> {
    const file = this.where(roomId);
    let header: ImageHeader;
    try {
      header = readImageHeader(bytes, 'to be put');
    } catch (err) {
      throw new TypeError(`DirectoryStore.put: the bytes for room "${roomId}" are not a room image (${err instanceof Error ? err.message : String(err)})`);
    }
    if (header.roomId !== roomId) throw new TypeError(`DirectoryStore.put: an image of room "${header.roomId}" put as room "${roomId}"`);
    return this.queuedWrite(roomId, file, `cannot save room image ${file}`, (temporary) => this.writer.writeBytes(roomId, bytes, file, temporary));
  }

  /**
   * Encodes `image` and replaces the room's image with it, crash-safely, like {@link put} —
   * both on the store's writer thread, so the caller's thread only sends the image and reads
   * the answer. Writes nothing when the encoded image's digest (image.ts, `savedRoomDigest`) is
   * `previousDigest` (the room is as last written).
   * @param giveBody - The body's buffer may be handed to the writer thread instead of copied:
   *   the caller does not use it again.
   * @throws TypeError when a field of `image` is out of its range.
   * @throws {@link StateroomError} `SR_ERR_STATE_DIR` when it cannot be written (disk full, the
   *   writer thread stopped…), naming the room and the file; the old image stays.
   */
  async putImage(image: RoomImage, previousDigest?: string, giveBody = false): Promise<WrittenImage> {
    checkImage(image);
    const file = this.where(image.roomId);
    return this.queuedWrite(image.roomId, file, `cannot save room image ${file} of room "${image.roomId}"`, (temporary) =>
      this.writer.writeImage(image, file, temporary, previousDigest, giveBody),
    );
  }

  /**
   * {@link putImage} of a room's state, its body (saved-room.ts, `encodeSavedRoom`) made on the
   * writer thread from the room's part and `state.body`, whose whole buffer is handed to the
   * thread: the caller gives it up (a WASM room's capture, which holds nothing else). What a
   * keeper's periodic save does; a body the caller keeps goes through {@link putImage}.
   * @throws as {@link putImage}.
   */
  async putRoom(image: Omit<RoomImage, 'body'>, state: RoomState & { readonly body: Uint8Array }, previousDigest?: string): Promise<WrittenImage> {
    const whole = { ...image, body: state.body };
    checkImage(whole);
    const roomHead = encodeSavedRoomHead(state);
    const file = this.where(image.roomId);
    return this.queuedWrite(image.roomId, file, `cannot save room image ${file} of room "${image.roomId}"`, (temporary) =>
      this.writer.writeRoom(whole, roomHead, file, temporary, previousDigest),
    );
  }

  /**
   * Runs `write` (to `file` by way of a fresh temporary file) after the room's writes under way.
   * An OS error becomes `SR_ERR_STATE_DIR` saying `failed`; the writer's own errors pass as they are.
   */
  private queuedWrite<T>(roomId: string, file: string, failed: string, write: (temporary: string) => Promise<T>): Promise<T> {
    return this.queues.run(roomId, async () => {
      try {
        return await write(this.temporaryOf(file));
      } catch (err) {
        if (err instanceof StateroomError) throw err;
        throw ioError(failed, file, err, roomId);
      }
    });
  }

  /** Waits for the writes under way (those queued behind others included), then stops the writer thread; later writes fail. */
  async close(): Promise<void> {
    await this.queues.idle();
    await this.writer.close();
  }

  /** Gives up on the writes under way (see {@link ImageWriter.abandon}); returns their rooms. */
  abandon(): string[] {
    return this.writer.abandon();
  }

  private temporaryOf(file: string): string {
    return `${file}.tmp-${process.pid}-${PROCESS_TOKEN}-${++written}`;
  }

  /**
   * Removes the image of `roomId`; resolves to whether there was one. On the writer thread, so
   * the directory's fsync is its batch's: an error of it is reported to that batch, never
   * taken by a fsync here that nobody reads (Linux reports a writeback error to one fsync).
   */
  async delete(roomId: string): Promise<boolean> {
    const file = this.where(roomId);
    return this.queuedWrite(roomId, file, `cannot delete room image ${file}`, () => this.writer.removeFile(roomId, file));
  }

  /** Every room id with a readable image header, sorted; unreadable files are left out (see {@link scan}). */
  async list(): Promise<string[]> {
    const { images } = await this.scan();
    return images.flatMap((image) => (image.ok ? [image.header.roomId] : [])).sort();
  }

  /**
   * Renames the image of `roomId` to `<name>.bad-<time>-<random>` (ignored by `get` and `list`)
   * and writes `why` beside it (on the writer thread, as {@link delete}); resolves to the new
   * path, or `undefined` when there was none.
   */
  async setAside(roomId: string, why: string): Promise<string | undefined> {
    const file = this.where(roomId);
    const stamp = new Date().toISOString().replace(/[-:.]/g, '');
    const aside = `${file}.bad-${stamp}-${randomBytes(3).toString('hex')}`;
    const note = { file: aside + WHY_SUFFIX, text: `room: ${JSON.stringify(roomId)}\nwhy: ${why}\n` };
    const moved = await this.queuedWrite(roomId, file, `cannot set room image ${file} aside`, () => this.writer.moveFile(roomId, file, aside, note));
    return moved ? aside : undefined;
  }

  /**
   * Every image file with its header (or why it has none) and the files set aside — for
   * listings. Reads only each file's first bytes; a file removed meanwhile is left out.
   */
  async scan(): Promise<DirectoryScan> {
    const names = await this.names();
    const imageNames = names.filter((name) => IMAGE_NAME.test(name)).sort();
    const setAside = names.filter((name) => SET_ASIDE_NAME.test(name) && !name.endsWith(WHY_SUFFIX)).sort();
    const found: (ImageFile | undefined)[] = new Array<ImageFile | undefined>(imageNames.length);
    let next = 0;
    const worker = async (): Promise<void> => {
      for (let i = next++; i < imageNames.length; i = next++) found[i] = await inspectFile(path.join(this.dir, imageNames[i]!));
    };
    await Promise.all(Array.from({ length: Math.min(SCAN_CONCURRENCY, imageNames.length) }, worker));
    return { images: found.filter((image) => image !== undefined), setAside };
  }

  /** {@link RoomStore.timers}: from the headers; unreadable images are left out (said when loaded). */
  async timers(): Promise<Array<{ roomId: string; timerDueAt: number | undefined }>> {
    const { images } = await this.scan();
    return images.flatMap((image) => (image.ok ? [{ roomId: image.header.roomId, timerDueAt: image.header.timerDueAt }] : []));
  }

  /** The image file of `roomId` as a listing sees it, or `undefined` when there is none. */
  async inspect(roomId: string): Promise<ImageFile | undefined> {
    return inspectFile(this.where(roomId));
  }

  private async names(): Promise<string[]> {
    try {
      return await readdir(this.dir);
    } catch (err) {
      throw stateDirError(this.dir, 'cannot be read', err);
    }
  }

  private async checkDirectory(): Promise<void> {
    let isDirectory: boolean;
    try {
      isDirectory = (await stat(this.dir)).isDirectory();
    } catch (err) {
      if (errnoOf(err) === 'ENOENT') throw stateDirError(this.dir, 'does not exist', undefined, 'check the path, or choose another --state-dir');
      throw stateDirError(this.dir, 'cannot be read', err);
    }
    if (!isDirectory) throw stateDirError(this.dir, 'is not a directory', undefined);
    await this.names();
  }

  /** Removes temporary files and probes whose writer is gone (see {@link STALE_LEFTOVER_MS}). */
  private async removeLeftovers(): Promise<void> {
    const now = Date.now();
    for (const name of await this.names()) {
      const match = LEFTOVER_NAME.exec(name);
      if (match === null) continue;
      const pid = Number(match[1]);
      const file = path.join(this.dir, name);
      const writerGone = pid === process.pid ? match[2] !== PROCESS_TOKEN : !isRunning(pid);
      if (!writerGone) {
        const mtime = await stat(file).then((s) => s.mtimeMs, () => now);
        if (now - mtime < STALE_LEFTOVER_MS) continue;
      }
      await unlink(file).catch(() => {}); // another process's open may have removed it first
    }
  }
}

/** The file name of a room's image: SHA-256 of the id's UTF-16 code units (exact for any string). */
export function fileNameOf(roomId: string): string {
  return `${createHash('sha256').update(Buffer.from(roomId, 'utf16le')).digest('hex')}.room`;
}

async function inspectFile(file: string): Promise<ImageFile | undefined> {
  let handle: FileHandle;
  try {
    handle = await open(file, constants.O_RDONLY);
  } catch (err) {
    if (errnoOf(err) === 'ENOENT') return undefined;
    return { ok: false, file, bytesOnDisk: 0, problem: `cannot be read: ${describeIo(err)}` };
  }
  let bytesOnDisk = 0;
  try {
    bytesOnDisk = (await handle.stat()).size;
    let prefix = await readAt(handle, Math.min(bytesOnDisk, HEADER_READ_BYTES));
    if (prefix.length >= IMAGE_PREAMBLE_BYTES) {
      const needed = imageHeaderBytes(prefix, file);
      if (needed > prefix.length) prefix = await readAt(handle, Math.min(needed, bytesOnDisk));
    }
    const header = readImageHeader(prefix, file, bytesOnDisk);
    if (fileNameOf(header.roomId) !== path.basename(file)) {
      return { ok: false, file, bytesOnDisk, problem: `it holds room "${header.roomId}", whose image is named ${fileNameOf(header.roomId)} (copied or renamed by hand?)` };
    }
    return { ok: true, file, bytesOnDisk, header };
  } catch (err) {
    return { ok: false, file, bytesOnDisk, problem: err instanceof StateroomError ? err.message : `cannot be read: ${describeIo(err)}` };
  } finally {
    await handle.close();
  }
}

async function readAt(handle: FileHandle, length: number): Promise<Buffer> {
  const buffer = Buffer.alloc(length);
  let filled = 0;
  while (filled < length) {
    const { bytesRead } = await handle.read(buffer, filled, length - filled, filled);
    if (bytesRead === 0) break;
    filled += bytesRead;
  }
  return buffer.subarray(0, filled);
}

/**
 * Writes a small file and fsyncs it: proof that the directory takes durable writes. Once, at
 * open, before the server serves: synchronous (the writer thread starts with the first save).
 */
function writeProbe(file: string): void {
  const fd = fs.openSync(file, 'wx', 0o600);
  try {
    fs.writeSync(fd, 'stateroom write probe\n');
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}

function errnoOf(err: unknown): string | undefined {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : undefined;
}

function describeIo(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** What to do about an OS error on the state directory. */
function adviceFor(err: unknown): string {
  switch (errnoOf(err)) {
    case 'EACCES':
    case 'EPERM':
      return 'fix its permissions or choose another --state-dir';
    case 'ENOSPC':
    case 'EDQUOT':
      return 'free disk space or choose another --state-dir';
    case 'EROFS':
      return 'it is on a read-only file system: choose another --state-dir';
    case 'ENOTDIR':
    case 'EEXIST':
      return 'a file is in the way: choose another --state-dir';
    default:
      return 'choose another --state-dir';
  }
}

function stateDirError(dir: string, what: string, err: unknown, advice = adviceFor(err)): StateroomError {
  const because = err === undefined ? '' : ` (${describeIo(err)})`;
  return new StateroomError(ErrorCode.STATE_DIR, `state directory ${dir} ${what}${because}: ${advice}`, { file: dir }, err === undefined ? undefined : { cause: err });
}

function ioError(what: string, file: string, err: unknown, roomId?: string): StateroomError {
  return new StateroomError(ErrorCode.STATE_DIR, `${what} (${describeIo(err)}): ${adviceFor(err)}`, roomId === undefined ? { file } : { roomId, file }, { cause: err });
}
