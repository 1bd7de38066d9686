/**
 * `/metrics`, made safe to expose: behind a bearer token when one is set, on a port of its
 * own when asked, and cheap however often it is scraped — the text is rendered at most once
 * a second and shared by every scrape meanwhile (rendering walks every metric on the server
 * thread, so 500 scrapes a second would otherwise raise every room's latency).
 * @module
 */
import { timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describeThrown } from '../errors.js';
import type { Logger } from '../logger.js';
import { reply } from './reply.js';
import { splitTarget } from './room-path.js';

/** How long one rendering of the metrics is served to every scrape. */
export const METRICS_CACHE_MS = 1_000;

/** What an answer to a scrape is. */
export interface Rendered {
  readonly contentType: string;
  readonly body: string;
}

/** Renders `render()` at most once per {@link METRICS_CACHE_MS}; concurrent callers share one rendering. */
export class CachedRender {
  private last: { at: number; value: Promise<Rendered> } | undefined;

  constructor(private readonly render: () => Promise<Rendered>) {}

  get(): Promise<Rendered> {
    const now = performance.now();
    if (this.last !== undefined && now - this.last.at < METRICS_CACHE_MS) return this.last.value;
    const value = this.render();
    this.last = { at: now, value };
    // A failed rendering is not kept: the next scrape tries again.
    value.catch(() => {
      if (this.last?.value === value) this.last = undefined;
    });
    return value;
  }
}

/** Whether an `Authorization` header carries `Bearer <token>`; compared in constant time. */
export function bearerMatches(header: string | undefined, token: string): boolean {
  const match = /^Bearer +(\S+)\s*$/i.exec(header ?? '');
  if (match === null) return false;
  const given = Buffer.from(match[1]!);
  const wanted = Buffer.from(token);
  return given.length === wanted.length && timingSafeEqual(given, wanted);
}

/** The header lines of a raw request (`head` as read from the socket), for the primary. */
export function headerOf(head: Buffer, name: string): string | undefined {
  const text = head.toString('latin1');
  const end = text.indexOf('\r\n\r\n');
  for (const line of text.slice(0, end < 0 ? undefined : end).split('\r\n').slice(1)) {
    const colon = line.indexOf(':');
    if (colon > 0 && line.slice(0, colon).trim().toLowerCase() === name) return line.slice(colon + 1).trim();
  }
  return undefined;
}

/** The 401 a scrape without the token gets. */
export const UNAUTHORIZED = { status: 401, contentType: 'text/plain; charset=utf-8', body: 'metrics need Authorization: Bearer <token>' } as const;

export class MetricsEndpoint {
  private readonly cached: CachedRender;

  constructor(
    render: () => Promise<Rendered>,
    private readonly token: string | undefined,
    private readonly log: Logger,
  ) {
    this.cached = new CachedRender(render);
  }

  /** Whether a scrape with this `Authorization` header may have the metrics. */
  allows(authorization: string | undefined): boolean {
    return this.token === undefined || bearerMatches(authorization, this.token);
  }

  /** The metrics, rendered at most once a second. */
  text(): Promise<Rendered> {
    return this.cached.get();
  }

  /** Answers a scrape: 401 without the token (when one is set), else the (cached) text. */
  serve(req: IncomingMessage, res: ServerResponse): void {
    if (!this.allows(req.headers.authorization)) {
      reply(res, UNAUTHORIZED.status, UNAUTHORIZED.body, { 'www-authenticate': 'Bearer' });
      return;
    }
    this.cached.get().then(
      ({ contentType, body }) => {
        res.writeHead(200, { 'content-type': contentType });
        res.end(req.method === 'HEAD' ? undefined : body);
      },
      (err: unknown) => {
        this.log.error({ err }, `metrics failed: ${describeThrown(err)}`);
        reply(res, 500, 'metrics failed');
      },
    );
  }

  /** Listens on a port of its own, answering `GET /metrics` only. */
  listen(port: number, host: string): Promise<{ server: Server; address: AddressInfo }> {
    const server = createServer((req, res) => {
      res.setHeader('connection', 'close');
      if (req.method !== 'GET' && req.method !== 'HEAD') reply(res, 405, 'GET or HEAD', { allow: 'GET, HEAD' });
      else if (splitTarget(req.url ?? '/').pathname === '/metrics') this.serve(req, res);
      else reply(res, 404, 'not found: this port serves /metrics only');
    });
    return new Promise((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, host, () => {
        server.off('error', reject);
        resolve({ server, address: server.address() as AddressInfo });
      });
    });
  }
}
