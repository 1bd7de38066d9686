/**
 * The plain HTTP routes: `/status` (text, or JSON with `?format=json`), `/metrics`, a 426
 * for a WebSocket path asked for without an upgrade, the client module
 * (`/__stateroom/client.js`), `/client/` and static files, a 404
 * that says where things are, and a 405 for any method but GET and HEAD.
 * @module
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { describeThrown } from '../errors.js';
import type { Logger } from '../logger.js';
import type { ServerMetrics } from '../metrics.js';
import { reply } from './reply.js';
import { parseRoomPath, splitTarget } from './room-path.js';
import { MetricsEndpoint } from './metrics-endpoint.js';
import type { StaticHandler } from './static-files.js';

export interface RouteOptions {
  /** Serves `/` and below, when given. */
  readonly staticFiles?: StaticHandler | undefined;
  /** Serves `/client/` and below, when given. */
  readonly clientFiles?: StaticHandler | undefined;
  /**
   * Serves {@link CLIENT_MODULE_PATH}, when given — before the static files, so a static
   * folder cannot hide it.
   */
  readonly clientModule?: StaticHandler | undefined;
  /** Where `/metrics` comes from. */
  readonly metrics: ServerMetrics;
  /** `/metrics` asks for `Authorization: Bearer <token>` when set. */
  readonly metricsToken?: string | undefined;
  /** `/metrics` is served on a port of its own: here it is 404. */
  readonly metricsElsewhere?: boolean;
  /** The JSON `/status?format=json` answers with. */
  status(): object;
  /**
   * Close each plain HTTP connection after one answer. A worker of `--workers N` sets it: a
   * connection stays with the worker it was handed to, so without it a keep-alive client's
   * next request (`/metrics`, say) would skip the primary, which routes and adds up.
   */
  readonly oneRequestPerConnection?: boolean;
}

const CLIENT_PREFIX = '/client/';

/** Where every server serves the browser build of `stateroom/client`, one ES module. */
export const CLIENT_MODULE_PATH = '/__stateroom/client.js';

/** Answers one plain HTTP request. */
export class Routes {
  /** `/metrics`, here or on its own port. */
  readonly metrics: MetricsEndpoint;

  constructor(
    private readonly options: RouteOptions,
    private readonly log: Logger,
  ) {
    const { registry } = options.metrics;
    this.metrics = new MetricsEndpoint(async () => ({ contentType: registry.contentType, body: await registry.metrics() }), options.metricsToken, log);
  }

  request(req: IncomingMessage, res: ServerResponse): void {
    if (this.options.oneRequestPerConnection === true) res.setHeader('connection', 'close');
    // Every plain route only reads: anything else is told so, whatever the path.
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      reply(res, 405, `method ${req.method ?? '?'} not allowed: GET or HEAD`, { allow: 'GET, HEAD' });
      return;
    }
    const { pathname, query } = splitTarget(req.url ?? '/');
    if (pathname === '/status') {
      this.status(res, new URLSearchParams(query).get('format') === 'json');
      return;
    }
    if (pathname === '/metrics' && this.options.metricsElsewhere !== true) {
      this.metrics.serve(req, res);
      return;
    }
    if (parseRoomPath(pathname) !== undefined) {
      reply(res, 426, 'this is a WebSocket endpoint: connect with a WebSocket client', { upgrade: 'websocket' });
      return;
    }
    const files = this.filesFor(pathname);
    if (files !== undefined) {
      files.handler(req, res, files.relative).catch((err: unknown) => {
        this.log.error({ err, url: req.url }, `static file error: ${describeThrown(err)}`);
        if (!res.headersSent) reply(res, 500, 'internal error');
        else res.destroy();
      });
      return;
    }
    reply(res, 404, `not found: ${pathname} (WebSockets connect to /ws/<room>; /status answers ok)`);
  }

  private status(res: ServerResponse, json: boolean): void {
    if (!json) {
      reply(res, 200, 'ok');
      return;
    }
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify(this.options.status()));
  }

  private filesFor(pathname: string): { handler: StaticHandler; relative: string } | undefined {
    const { clientFiles, clientModule, staticFiles } = this.options;
    if (clientModule !== undefined && pathname === CLIENT_MODULE_PATH) return { handler: clientModule, relative: pathname.slice(1) };
    if (clientFiles !== undefined && (pathname === '/client' || pathname.startsWith(CLIENT_PREFIX))) {
      return { handler: clientFiles, relative: pathname.slice(CLIENT_PREFIX.length) };
    }
    if (staticFiles !== undefined) return { handler: staticFiles, relative: pathname.slice(1) };
    return undefined;
  }
}
