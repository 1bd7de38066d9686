/**
 * The state directory's writer thread (image-writer.ts starts it): encodes room images and
 * writes them crash-safely, each step synchronous. A save on the server thread was ~20 promise
 * steps and nine fs requests, each a hop to libuv's pool and back; here it is one message in
 * and one out, and the thread does the rest on its own stack.
 *
 * Requests that arrive together are written as one batch (the keeper saves the rooms due on
 * one tick together, so while the thread waits on one batch's fsyncs the next one gathers):
 * each file written, fsynced and renamed over its image (or, for a delete or a set-aside, its
 * entry removed or renamed), then one fsync of the directory for all of them, then one answer
 * for the batch. A failed directory fsync fails every save of its batch (Linux reports a
 * writeback error to one descriptor only, so a later fsync could succeed though this one held
 * their renames): the keeper retries them. Deletes and set-asides share that fsync so that no
 * fsync elsewhere takes the report; they are done once their entry changed, whatever it says.
 * @module
 */
import fs from 'node:fs';
import { parentPort, workerData } from 'node:worker_threads';
import { encodeImageSync, imagePartsDigest, type ImageParts } from './image.js';
import { joinSavedRoom } from './saved-room.js';
import type { EntryRequest, WriteAnswer, WriteRequest, WriterSetup } from './image-writer.js';

const { dir } = workerData as WriterSetup;
const port = parentPort;
if (port === null) throw new Error('writer-thread.ts runs as a worker thread (see image-writer.ts)');

let queued: WriteRequest[] = [];
port.on('message', (request: WriteRequest) => {
  // The first of a batch schedules it; the others that arrive before it runs join it.
  if (queued.push(request) === 1) setImmediate(writeBatch);
});

function writeBatch(): void {
  const batch = queued;
  queued = [];
  const answers: WriteAnswer[] = [];
  /** The images renamed into place: a failed directory fsync fails them (they are retried). */
  const renamed: number[] = [];
  let changed = false;
  for (const request of batch) {
    try {
      const answer = write(request);
      changed ||= answer.written;
      if (answer.written && request.op !== 'entry') renamed.push(answers.length);
      answers.push(answer);
    } catch (err) {
      answers.push(failure(request.id, err));
    }
  }
  if (changed) {
    try {
      syncDirectory();
    } catch (err) {
      // A delete or set-aside is done whatever the fsync says (it only may not survive a power
      // cut, which brings back the old entry): it is not failed for what cannot be undone.
      for (const at of renamed) answers[at] = failure(answers[at]!.id, err);
    }
  }
  port!.postMessage(answers);
}

/** One request: an entry changed, or an image encoded (unless it came as bytes), compared with the room's last, written. */
function write(request: WriteRequest): WriteAnswer & { ok: true } {
  if (request.op === 'entry') return { id: request.id, ok: true, written: changeEntry(request), digest: undefined, bytes: 0 };
  let parts: ImageParts;
  let digest: string | undefined;
  if (request.image === undefined) {
    parts = { head: Buffer.alloc(0), stored: request.bytes, tail: Buffer.alloc(0) };
  } else {
    const { image, roomHead } = request;
    parts = encodeImageSync(roomHead === undefined ? image : { ...image, body: joinSavedRoom(roomHead, image.body) });
    digest = imagePartsDigest(parts);
  }
  const bytes = parts.head.length + parts.stored.length + parts.tail.length;
  if (request.image !== undefined && digest === request.previousDigest) return { id: request.id, ok: true, written: false, digest, bytes };
  writeDurably(request.temporary, parts);
  try {
    fs.renameSync(request.temporary, request.file);
  } catch (err) {
    removeQuietly(request.temporary);
    throw err;
  }
  return { id: request.id, ok: true, written: true, digest, bytes };
}

/** A new file holding the parts, fsynced: once this returns, the bytes survive a power cut. Removed again if any step fails. */
function writeDurably(file: string, { head, stored, tail }: ImageParts): void {
  const fd = fs.openSync(file, 'wx', 0o600);
  try {
    try {
      for (const piece of [head, stored, tail]) {
        for (let at = 0; at < piece.byteLength; ) at += fs.writeSync(fd, piece, at, piece.byteLength - at);
      }
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
  } catch (err) {
    removeQuietly(file);
    throw err;
  }
}

/** Removes or renames a file (false when it was not there), and writes the note of a rename beside it. */
function changeEntry({ file, to, note }: EntryRequest): boolean {
  try {
    if (to === undefined) fs.unlinkSync(file);
    else fs.renameSync(file, to);
  } catch (err) {
    if ((err as { code?: unknown }).code === 'ENOENT') return false;
    throw err;
  }
  if (to !== undefined && note !== undefined) {
    try {
      fs.writeFileSync(note.file, note.text, { mode: 0o600 });
    } catch {
      // The note is for a person looking later; failing to write it must not fail the rename.
    }
  }
  return true;
}

/** Makes the renames durable (POSIX: an entry lives in the directory's own data). */
function syncDirectory(): void {
  if (process.platform === 'win32') return; // directories cannot be opened there; NTFS journals the rename
  const fd = fs.openSync(dir, fs.constants.O_RDONLY);
  try {
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}

function removeQuietly(file: string): void {
  try {
    fs.unlinkSync(file);
  } catch {
    // already gone, or the directory is: the write's own error says what went wrong
  }
}

function failure(id: number, err: unknown): WriteAnswer {
  const code = (err as { code?: unknown } | null)?.code;
  return { id, ok: false, message: err instanceof Error ? err.message : String(err), ...(typeof code === 'string' ? { errno: code } : {}) };
}
