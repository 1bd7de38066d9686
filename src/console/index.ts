/**
 * The built-in room console: a small page at `/` (when no static directory is given) for
 * trying rooms by hand — pick a room, connect with the client library, send text, and watch
 * every message, close and reconnect (and whether it resumed the seat) with timestamps.
 *
 * The page is a string constant ({@link CONSOLE_PAGE}); the client library it runs is the
 * built `dist/client/*.js`, read once when the handler is made and served from memory at
 * `/__stateroom/client/`. Nothing is fetched from anywhere else, so the console works offline.
 *
 * Also here: {@link clientModuleHandler}, which every server (console or `--static`) uses
 * to serve the single-file browser build of the client, `dist/client/browser.js`, at
 * `/__stateroom/client.js`.
 * @module
 */
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { readFile, readdir } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { reply } from '../transport/reply.js';
import type { StaticHandler } from '../transport/static-files.js';
import { CONSOLE_PAGE } from './page.js';

/** Where, under `/`, the page finds the client library. */
export const CLIENT_PREFIX = '__stateroom/client/';

/**
 * The page may run only its own inline script and modules from this server, and talk only
 * to this server: a guarantee, not just a habit, that it needs nothing from elsewhere.
 * (`ws:`/`wss:` are listed because older Safari does not let `'self'` cover WebSockets.)
 */
const PAGE_HEADERS = {
  'content-security-policy':
    "default-src 'none'; script-src 'self' 'unsafe-inline'; style-src 'unsafe-inline'; connect-src 'self' ws: wss:; img-src data:; base-uri 'none'; form-action 'none'",
  'x-content-type-options': 'nosniff',
  'cache-control': 'no-cache',
};

/** Serves the console page and the client library it loads. */
export async function consoleHandler(): Promise<StaticHandler> {
  const page = Buffer.from(CONSOLE_PAGE);
  const client = await loadClient();
  return async (req, res, relative) => {
    if (relative === '' || relative === 'index.html') {
      answer(req, res, 'text/html; charset=utf-8', page, PAGE_HEADERS);
      return;
    }
    if (relative.startsWith(CLIENT_PREFIX)) {
      const file = client.get(relative.slice(CLIENT_PREFIX.length));
      if (file !== undefined) answer(req, res, 'text/javascript; charset=utf-8', file, { 'cache-control': 'no-cache' });
      else reply(res, 404, client.size === 0 ? 'the client library is not built: run npm run build' : `not found: /${relative}`);
      return;
    }
    reply(res, 404, `not found: /${relative} (this is the room console; WebSockets connect to /ws/<room>)`);
  };
}

/**
 * The browser modules of the built client, by file name. Compiled, this module sits in
 * `dist/console/` next to `dist/client/`; run from its sources (tsx, in tests), it uses the
 * last build in `dist/client/`. Without a build the page says how to make one.
 */
async function loadClient(): Promise<Map<string, Buffer>> {
  const dir = builtClientDir();
  if (dir === undefined) return new Map();
  // node.js is the Node entry (it imports ws), browser.js the single-file build: never for this page.
  const names = (await readdir(dir)).filter((name) => name.endsWith('.js') && name !== 'node.js' && name !== 'browser.js');
  return new Map(await Promise.all(names.map(async (name) => [name, await readFile(new URL(name, dir))] as const)));
}

/** The built client's folder: `dist/client/`, beside this module compiled or above it in the sources. */
function builtClientDir(file = 'index.js'): URL | undefined {
  for (const candidate of ['../client/', '../../dist/client/']) {
    const dir = new URL(candidate, import.meta.url);
    if (existsSync(new URL(file, dir))) return dir;
  }
  return undefined;
}

/** What {@link clientModuleHandler} serves: the file, and its entity tag. */
interface ClientModule {
  readonly body: Buffer;
  readonly etag: string;
}

/**
 * Serves the single-file browser build of `stateroom/client` (`dist/client/browser.js`, made
 * by `npm run build`), whatever path it is mounted at: read on the first request and kept.
 * Any origin may import it (a page served elsewhere, a dev server on another port); a page
 * that asks again gets a 304 while the file is the same.
 */
export function clientModuleHandler(): StaticHandler {
  let loading: Promise<ClientModule | undefined> | undefined;
  return async (req, res) => {
    const module = await (loading ??= loadClientModule());
    if (module === undefined) {
      loading = undefined; // a build made while the server runs is found next time
      reply(res, 404, 'the client module is not built: run npm run build');
      return;
    }
    const headers = { 'cache-control': 'no-cache', etag: module.etag, 'access-control-allow-origin': '*', 'x-content-type-options': 'nosniff' };
    if (req.headers['if-none-match'] === module.etag) {
      res.writeHead(304, headers);
      res.end();
      return;
    }
    answer(req, res, 'text/javascript; charset=utf-8', module.body, headers);
  };
}

async function loadClientModule(): Promise<ClientModule | undefined> {
  const dir = builtClientDir('browser.js');
  if (dir === undefined) return undefined;
  const body = await readFile(new URL('browser.js', dir));
  return { body, etag: `"${createHash('sha256').update(body).digest('base64url').slice(0, 22)}"` };
}

function answer(req: IncomingMessage, res: ServerResponse, type: string, body: Buffer, headers: Record<string, string>): void {
  res.writeHead(200, { 'content-type': type, 'content-length': body.length, ...headers });
  res.end(req.method === 'HEAD' ? undefined : body);
}
