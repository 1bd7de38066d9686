/**
 * The built-in room console: a small page at `/` (when no static directory is given) for
 * trying rooms by hand — pick a room, connect with the client library, send text, and watch
 * every message, close and reconnect (and whether it resumed the seat) with timestamps.
 *
 * The page is a string constant ({@link CONSOLE_PAGE}); the client library it runs is the
 * built `dist/client/*.js`, read once when the handler is made and served from memory at
 * `/__stateroom/client/`. Nothing is fetched from anywhere else, so the console works offline.
 * @module
 */
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
  for (const candidate of ['../client/', '../../dist/client/']) {
    const dir = new URL(candidate, import.meta.url);
    if (!existsSync(new URL('index.js', dir))) continue;
    // node.js is the Node entry (it imports ws): never for a browser.
    const names = (await readdir(dir)).filter((name) => name.endsWith('.js') && name !== 'node.js');
    return new Map(await Promise.all(names.map(async (name) => [name, await readFile(new URL(name, dir))] as const)));
  }
  return new Map();
}

function answer(req: IncomingMessage, res: ServerResponse, type: string, body: Buffer, headers: Record<string, string>): void {
  res.writeHead(200, { 'content-type': type, 'content-length': body.length, ...headers });
  res.end(req.method === 'HEAD' ? undefined : body);
}
