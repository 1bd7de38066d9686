/**
 * Static files for `--static` (at `/`) and `--client` (at `/client/`): the right content
 * type, `index.html` for a directory, and never a byte from outside the directory — not
 * through `..`, encoded variants, NUL bytes, or a symlink pointing out.
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

/** A handler serving files from `root`, which must exist (checked at start). */
export async function staticFiles(root: string): Promise<StaticHandler> {
  const realRoot = await realpath(root);
  return async (req, res, relative) => {
    const file = await resolveInside(realRoot, relative);
    if (file === undefined) {
      reply(res, 404, `not found: ${req.url ?? ''}`);
      return;
    }
    const type = contentType(path.extname(file.path)) || 'application/octet-stream';
    res.writeHead(200, { 'content-type': type, 'content-length': file.size });
    if (req.method === 'HEAD') {
      res.end();
      return;
    }
    // pipeline, not pipe: a client that hangs up mid-download must close the file too.
    pipeline(createReadStream(file.path), res, () => {});
  };
}

/** The regular file `relative` names inside `root`, or `undefined` if there is none. */
async function resolveInside(root: string, relative: string): Promise<{ path: string; size: number } | undefined> {
  let decoded: string;
  try {
    decoded = decodeURIComponent(relative);
  } catch {
    return undefined;
  }
  if (decoded.includes('\0')) return undefined;
  let candidate = path.resolve(root, `.${path.sep}${decoded}`);
  if (!isInside(root, candidate)) return undefined;
  try {
    let info = await stat(candidate);
    if (info.isDirectory()) {
      candidate = path.join(candidate, 'index.html');
      info = await stat(candidate);
    }
    // A symlink may point out of the directory: check where it really lands.
    const real = await realpath(candidate);
    if (!info.isFile() || !isInside(root, real)) return undefined;
    return { path: real, size: info.size };
  } catch {
    return undefined;
  }
}

function isInside(root: string, candidate: string): boolean {
  return candidate === root || candidate.startsWith(root.endsWith(path.sep) ? root : root + path.sep);
}
