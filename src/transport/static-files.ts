/**
 * Static files for `--static` (at `/`) and `--client` (at `/client/`): the right content
 * type, `index.html` for a directory, single byte ranges, and never a byte from outside the
 * directory — not through `..`, encoded variants, NUL bytes, or a symlink pointing out — nor
 * a dotfile (`.env`, `.git/`) unless asked for.
 * @module
 */
import { createReadStream } from 'node:fs';
import { realpath, stat } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { pipeline } from 'node:stream';
import path from 'node:path';
import { contentType } from 'mime-types';
import { reply } from './reply.js';

/** Serves a request for `relative` (still percent-encoded) from a directory. */
export type StaticHandler = (req: IncomingMessage, res: ServerResponse, relative: string) => Promise<void>;

export interface StaticOptions {
  /**
   * Serve files and directories whose name starts with a dot. Off by default: a site's
   * directory often holds `.env`, `.git/` or `.htpasswd`, never meant for the public.
   */
  readonly dotfiles?: boolean;
  /**
   * How long a download may make no progress (its client reads nothing) before it is cut: the
   * socket's idle timer, which Node lets pass once more if a write was under way, so a stalled
   * download is cut within twice this.
   */
  readonly stalledMs?: number;
}

/**
 * The default of {@link StaticOptions.stalledMs}. Node times a request out, but not a response:
 * without this, each client that asks for a large file and never reads it would hold its
 * socket and the open file for as long as it likes.
 */
export const STALLED_DOWNLOAD_MS = 15_000;

/** A handler serving files from `root`, which must exist (checked at start). */
export async function staticFiles(root: string, options: StaticOptions = {}): Promise<StaticHandler> {
  const realRoot = await realpath(root);
  const dotfiles = options.dotfiles === true;
  const stalledMs = options.stalledMs ?? STALLED_DOWNLOAD_MS;
  return async (req, res, relative) => {
    const file = await resolveInside(realRoot, relative, dotfiles);
    if (file === undefined) {
      reply(res, 404, `not found: ${req.url ?? ''}`);
      return;
    }
    const type = contentType(path.extname(file.path)) || 'application/octet-stream';
    const range = byteRange(req.headers.range, file.size);
    if (range === 'unsatisfiable') {
      reply(res, 416, 'range not satisfiable', { 'content-range': `bytes */${file.size}` });
      return;
    }
    const headers = { 'content-type': type, 'accept-ranges': 'bytes' };
    if (range === undefined) res.writeHead(200, { ...headers, 'content-length': file.size });
    else res.writeHead(206, { ...headers, 'content-length': range.end - range.start + 1, 'content-range': `bytes ${range.start}-${range.end}/${file.size}` });
    if (req.method === 'HEAD' || file.size === 0) {
      res.end();
      return;
    }
    // An idle timer on the socket: a client that reads on, however slowly, keeps resetting it.
    res.setTimeout(stalledMs, () => res.destroy());
    // pipeline, not pipe: a client that hangs up mid-download (or is cut) must close the file too.
    pipeline(createReadStream(file.path, range), res, () => {});
  };
}

/**
 * The one byte range a `Range` header asks for (RFC 9110 §14): `bytes=a-b`, `bytes=a-` or
 * `bytes=-n`. Several ranges, another unit or a malformed header are ignored (the whole file
 * is an allowed answer); a range wholly past the end is `unsatisfiable` (416).
 */
export function byteRange(header: string | undefined, size: number): { start: number; end: number } | 'unsatisfiable' | undefined {
  if (header === undefined) return undefined;
  const match = /^bytes=(\d*)-(\d*)$/.exec(header.trim());
  if (match === null) return undefined;
  const [, first = '', last = ''] = match;
  if (first === '' && last === '') return undefined;
  if (first === '') {
    const suffix = Number(last);
    // An empty file has no last bytes to give (RFC 9110 §14.1.2).
    if (suffix === 0 || size === 0) return 'unsatisfiable';
    return { start: Math.max(0, size - suffix), end: size - 1 };
  }
  const start = Number(first);
  const end = last === '' ? size - 1 : Math.min(Number(last), size - 1);
  if (last !== '' && Number(last) < start) return undefined;
  if (start >= size) return 'unsatisfiable';
  return { start, end };
}

/** The regular file `relative` names inside `root`, or `undefined` if there is none. */
async function resolveInside(root: string, relative: string, dotfiles: boolean): Promise<{ path: string; size: number } | undefined> {
  let decoded: string;
  try {
    decoded = decodeURIComponent(relative);
  } catch {
    return undefined;
  }
  if (decoded.includes('\0')) return undefined;
  // `\` is a separator on Windows; `..\` must not hide a dot segment there either.
  if (!dotfiles && decoded.split(/[\\/]/).some((segment) => segment.startsWith('.'))) return undefined;
  let candidate = path.resolve(root, `.${path.sep}${decoded}`);
  if (!isInside(root, candidate)) return undefined;
  try {
    let info = await stat(candidate);
    if (info.isDirectory()) {
      candidate = path.join(candidate, 'index.html');
      info = await stat(candidate);
    } else if (decoded.endsWith('/')) {
      return undefined; // `/index.html/` names a directory, and a file is none
    }
    // A symlink may point out of the directory (or to a dotfile in it): check where it really lands.
    const real = await realpath(candidate);
    if (!info.isFile() || !isInside(root, real)) return undefined;
    if (!dotfiles && path.relative(root, real).split(path.sep).some((segment) => segment.startsWith('.'))) return undefined;
    return { path: real, size: info.size };
  } catch {
    return undefined;
  }
}

function isInside(root: string, candidate: string): boolean {
  return candidate === root || candidate.startsWith(root.endsWith(path.sep) ? root : root + path.sep);
}
