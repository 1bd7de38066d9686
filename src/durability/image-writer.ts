/**
 * The state directory's writer: one worker thread (writer-thread.ts) that encodes and writes
 * room images, and the server thread's side of it — a request out, an answer back, nothing
 * else. What a save costs the server thread is then a message each way; the compression,
 * the writes, the fsyncs and the renames run on the writer's stack (bench/README.md,
 * "Durable rooms", has the figures).
 *
 * The thread starts with the first write, holds the process open only while a write is
 * unanswered, and stops after {@link IDLE_STOP_MS} without one (it holds ~10 MiB). If it
 * dies, every unanswered write fails with an error naming its room and file (the keeper logs
 * it and retries), and the next write starts a new thread.
 * @module
 */
import { Worker } from 'node:worker_threads';
import { ErrorCode, StateroomError, describeThrown } from '../errors.js';
import { threadEntry } from '../thread-entry.js';
import type { RoomImage } from './image.js';

/** What the writer thread gets at its start. */
export interface WriterSetup {
  /** The state directory, fsynced after renames. */
  readonly dir: string;
}

/**
 * One request: a write (an image to encode, or bytes already encoded, for `file` by way of
 * `temporary`), or a change of the directory's entries — `file` removed, or renamed to `to`
 * with `note` written beside it — which shares its batch's directory fsync like a write.
 */
export type WriteRequest = EntryRequest | ImageRequest;

/** `file` removed (`to` absent) or renamed to `to`, with `note` then written beside it. */
export interface EntryRequest {
  readonly id: number;
  readonly op: 'entry';
  readonly file: string;
  readonly to?: string;
  readonly note?: { readonly file: string; readonly text: string };
}

type ImageRequest = {
  readonly id: number;
  readonly op?: undefined;
  readonly file: string;
  readonly temporary: string;
} & (
  | {
      readonly image: RoomImage;
      readonly previousDigest: string | undefined;
      /** The room's part of the body (saved-room.ts): the body written is it, then `image.body`, joined on the thread. */
      readonly roomHead?: Uint8Array;
    }
  | { readonly image?: undefined; readonly bytes: Uint8Array }
);

/** The thread's answer to one request (answers come in arrays, one array per batch). */
export type WriteAnswer =
  | { readonly id: number; readonly ok: true; readonly written: boolean; readonly digest: string | undefined; readonly bytes: number }
  | { readonly id: number; readonly ok: false; readonly message: string; readonly errno?: string };

/** What a write of an image did. */
export interface WrittenImage {
  /** False when its digest was the one given: nothing was written. */
  readonly written: boolean;
  /** The image's digest (image.ts, `savedRoomDigest`): what the next write of the room compares with. */
  readonly digest: string;
  /** Its size, encoded. */
  readonly bytes: number;
}

interface Waiter {
  readonly roomId: string;
  readonly file: string;
  /** What the request does, for messages: "saved to <file>", "removed (<file>)"… */
  readonly done: string;
  readonly resolve: (answer: WriteAnswer & { ok: true }) => void;
  readonly reject: (err: Error) => void;
}

/** The thread's heap holds only glue: images are array buffers, outside it. */
const WRITER_HEAP_MB = 32;
/** A thread without a write for this long stops; the next write starts another (~30 ms). */
export const IDLE_STOP_MS = 30_000;

/** Options of {@link ImageWriter}: what tests change. */
export interface ImageWriterOptions {
  /** The thread's module (tests start one that fails). */
  readonly entry?: { readonly entry: string | URL; readonly eval: boolean };
  /** Default {@link IDLE_STOP_MS}. */
  readonly idleStopMs?: number;
}

/** The writer of one state directory. */
export class ImageWriter {
  private thread: Worker | undefined;
  private readonly waiting = new Map<number, Waiter>();
  private nextId = 1;
  private closed = false;
  /** Called once no write is unanswered (each close() waits for it). */
  private idle: Array<() => void> = [];
  /** Resolves when the last thread started has exited. */
  private exited: Promise<void> = Promise.resolve();
  private idleTimer: NodeJS.Timeout | undefined;
  private readonly entry: { readonly entry: string | URL; readonly eval: boolean };
  private readonly idleStopMs: number;

  constructor(
    private readonly dir: string,
    options: ImageWriterOptions = {},
  ) {
    this.entry = options.entry ?? threadEntry(import.meta.url, 'writer-thread');
    this.idleStopMs = options.idleStopMs ?? IDLE_STOP_MS;
  }

  /** Whether a thread runs now (it starts with a write and stops when idle). */
  get running(): boolean {
    return this.thread !== undefined;
  }

  /**
   * Encodes `image` and writes it to `file` (by way of `temporary`), unless its digest is
   * `previousDigest`. `giveBody`: the body's buffer is handed to the thread, not copied (the
   * caller must not use it again).
   * @throws Error with the OS error's `code` when the write failed; {@link StateroomError}
   * `SR_ERR_STATE_DIR` when the writer thread stopped first.
   */
  async writeImage(image: RoomImage, file: string, temporary: string, previousDigest: string | undefined, giveBody: boolean): Promise<WrittenImage> {
    const transfer = giveBody && ownsWholeBuffer(image.body) ? [image.body.buffer as ArrayBuffer] : [];
    return writtenImage(await this.send({ id: this.nextId++, file, temporary, image, previousDigest }, image.roomId, transfer));
  }

  /**
   * {@link writeImage} of a room whose body is `roomHead` (saved-room.ts, `encodeSavedRoomHead`)
   * then `image.body` (the adapter's bytes), joined on the thread: the server thread neither
   * allocates the joined body nor copies the adapter's bytes. `image.body`'s whole buffer is
   * handed to the thread, whatever part of it the view spans: the caller gives it up (a WASM
   * room's capture, which holds nothing else).
   */
  async writeRoom(image: RoomImage, roomHead: Uint8Array, file: string, temporary: string, previousDigest: string | undefined): Promise<WrittenImage> {
    const { buffer, byteLength } = image.body;
    // An empty body is copied, as in writeImage: a detached buffer then fails loudly.
    const transfer = buffer instanceof ArrayBuffer && byteLength > 0 ? [buffer] : [];
    return writtenImage(await this.send({ id: this.nextId++, file, temporary, image, previousDigest, roomHead }, image.roomId, transfer));
  }

  /** Writes `bytes` (an encoded image, copied to the thread) to `file` by way of `temporary`. */
  async writeBytes(roomId: string, bytes: Uint8Array, file: string, temporary: string): Promise<void> {
    await this.send({ id: this.nextId++, file, temporary, bytes }, roomId, []);
  }

  /**
   * Removes `file` (of room `roomId`); the directory's fsync is the batch's (its failure fails
   * the batch's saves, not this: the entry is gone). Resolves to whether there was one.
   * @throws Error with the OS error's `code` when it could not be removed.
   */
  async removeFile(roomId: string, file: string): Promise<boolean> {
    return (await this.send({ id: this.nextId++, op: 'entry', file }, roomId, [])).written;
  }

  /**
   * Renames `file` (of room `roomId`) to `to` and writes `note.text` to `note.file` (a failed
   * note does not fail the rename), durably as {@link removeFile}. Resolves to whether there was one.
   */
  async moveFile(roomId: string, file: string, to: string, note: { readonly file: string; readonly text: string }): Promise<boolean> {
    return (await this.send({ id: this.nextId++, op: 'entry', file, to, note }, roomId, [])).written;
  }

  /** Waits for the writes under way, then stops the thread; writes after this fail. */
  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.idleTimer);
    if (this.waiting.size > 0) await new Promise<void>((resolve) => this.idle.push(resolve));
    await this.thread?.terminate();
    await this.exited;
  }

  /**
   * Gives up on the writes under way (a shutdown past its deadline: a hung disk, say): each
   * fails, naming its room, and the thread no longer holds the process open. Returns their rooms.
   */
  abandon(): string[] {
    const rooms = [...new Set([...this.waiting.values()].map((waiter) => waiter.roomId))];
    const thread = this.thread;
    this.closed = true;
    this.thread = undefined;
    clearTimeout(this.idleTimer);
    // A thread stuck in a system call may never end: it must not keep the process alive.
    thread?.unref();
    void thread?.terminate();
    this.stopped('the server stopped waiting for it at shutdown');
    return rooms;
  }

  private send(request: WriteRequest, roomId: string, transfer: ArrayBuffer[]): Promise<WriteAnswer & { ok: true }> {
    const done = doneBy(request);
    if (this.closed) return Promise.reject(new StateroomError(ErrorCode.STATE_DIR, `room "${roomId}" could not be ${done}: the state directory ${this.dir} is closed (the server is shutting down)`, { roomId, file: request.file }));
    clearTimeout(this.idleTimer);
    const thread = this.thread ?? this.start();
    return new Promise((resolve, reject) => {
      if (this.waiting.size === 0) thread.ref(); // an unanswered write holds the process open
      this.waiting.set(request.id, { roomId, file: request.file, done, resolve, reject });
      try {
        thread.postMessage(request, transfer);
      } catch (err) {
        // Not sent (a body that cannot be cloned, a buffer already handed over): this write
        // is not waiting for an answer, and must not hold the thread or close() for ever.
        this.waiting.delete(request.id);
        if (this.waiting.size === 0) this.becameIdle();
        reject(new StateroomError(ErrorCode.STATE_DIR, `room "${roomId}" could not be handed to the writer thread of ${this.dir}: ${describeThrown(err)}`, { roomId, file: request.file }));
      }
    });
  }

  private start(): Worker {
    const setup: WriterSetup = { dir: this.dir };
    const thread = new Worker(this.entry.entry, { workerData: setup, eval: this.entry.eval, resourceLimits: { maxOldGenerationSizeMb: WRITER_HEAP_MB } });
    thread.unref();
    thread.on('message', (answers: WriteAnswer[]) => this.answered(answers));
    let why = 'it exited';
    thread.on('error', (err) => (why = `it failed: ${err.message}`));
    this.exited = new Promise((resolve) =>
      thread.once('exit', (code) => {
        // A thread stopped while idle was replaced at once: it had no writes, and the writes
        // waiting now are its successor's.
        if (this.thread === thread) {
          this.thread = undefined;
          this.stopped(code === 0 || this.closed ? why : `${why} (exit code ${code})`);
        }
        resolve();
      }),
    );
    this.thread = thread;
    return thread;
  }

  private answered(answers: WriteAnswer[]): void {
    for (const answer of answers) {
      const waiter = this.waiting.get(answer.id);
      if (waiter === undefined) continue;
      this.waiting.delete(answer.id);
      if (answer.ok) waiter.resolve(answer);
      else waiter.reject(Object.assign(new Error(answer.message), answer.errno === undefined ? {} : { code: answer.errno }));
    }
    if (this.waiting.size === 0) this.becameIdle();
  }

  private becameIdle(): void {
    this.thread?.unref();
    const idle = this.idle;
    this.idle = [];
    for (const resolve of idle) resolve();
    if (this.thread !== undefined && !this.closed) {
      clearTimeout(this.idleTimer);
      this.idleTimer = setTimeout(() => this.stopIdle(), this.idleStopMs).unref();
    }
  }

  /** Gives back the idle thread's memory; the next write starts another. */
  private stopIdle(): void {
    const thread = this.thread;
    if (thread === undefined || this.waiting.size > 0) return;
    this.thread = undefined;
    void thread.terminate();
  }

  /** The thread is gone: every write it had not answered fails, naming its room. */
  private stopped(why: string): void {
    const lost = [...this.waiting.values()];
    this.waiting.clear();
    this.becameIdle();
    for (const { roomId, file, done, reject } of lost) {
      reject(new StateroomError(ErrorCode.STATE_DIR, `the writer thread of the state directory ${this.dir} stopped (${why}) before room "${roomId}" was ${done}; ${this.closed ? 'the state directory is closed' : 'a new thread takes the next write'}`, { roomId, file }));
    }
  }
}

/** What `request` does to its room's image, as messages say it. */
function doneBy(request: WriteRequest): string {
  if (request.op !== 'entry') return `saved to ${request.file}`;
  return request.to === undefined ? `removed (${request.file})` : `set aside (${request.file})`;
}

/** What the thread's answer to an image's write says of it. */
function writtenImage(answer: WriteAnswer & { ok: true }): WrittenImage {
  return { written: answer.written, digest: answer.digest ?? '', bytes: answer.bytes };
}

/** Whether `bytes` spans its whole (transferable) buffer: handing that over takes nothing from anyone else. */
function ownsWholeBuffer(bytes: Uint8Array): boolean {
  // An empty body is copied: nothing to gain, and a view of a buffer already handed over
  // (detached, length 0) then fails to clone, loudly, instead of vanishing on the way.
  return bytes.buffer instanceof ArrayBuffer && bytes.byteLength > 0 && bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength;
}
