/**
 * The built-in room console: a small page at `/` (when no static directory is given) for
 * trying rooms by hand.
 * @module
 */
import type { StaticHandler } from '../transport/static-files.js';
import { reply } from '../transport/reply.js';

/** Serves the console page and its assets. */
export async function consoleHandler(): Promise<StaticHandler> {
  return async (_req, res, relative) => {
    if (relative === '' || relative === 'index.html') {
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
      res.end('<!doctype html><title>stateroom</title><p>stateroom is running: connect a WebSocket to <code>/ws/&lt;room&gt;</code>.</p>');
      return;
    }
    reply(res, 404, `not found: /${relative}`);
  };
}
