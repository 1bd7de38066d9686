/**
 * Forwarding a client's WebSocket upgrade to the node that owns its room (docs/cluster.md,
 * "Forwarding"). The forwarder writes the client's request to the owner as it arrived — minus
 * hop-by-hop headers and any forwarded header a client tried to smuggle, plus a signed
 * {@link FORWARDED_HEADER} naming the client's address — reads the owner's answer head, and on
 * 101 splices the two sockets: raw bytes both ways, never a parsed frame, so close codes,
 * pings and compression are the owner's and the client's business alone. Backpressure is
 * TCP's: `pipe` stops reading one socket while the other's buffer is full, so a client that
 * does not read fills the owner's socket, and the owner closes it with 1013 as it would a
 * direct client.
 * @module
 */
import type { IncomingMessage } from 'node:http';
import { STATUS_CODES } from 'node:http';
import { connect, type Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { FORWARDED_HEADER, signForwarded, type ClusterSecret } from './cluster-auth.js';

/**
 * How a forward ended, for the caller:
 * - `piped`: the owner answered 101; its answer went to the client and both sockets are now
 *   spliced. Nothing more to do.
 * - `misdirected`: the owner answered 421 (it does not own the room). Nothing was written to
 *   the client, nothing read from it: the caller re-resolves the owner and forwards again.
 * - `unreachable`: no connection, or no complete answer head within the timeout, or the owner
 *   hung up before answering. Nothing written to the client: the caller checks the lease again
 *   (and answers the client itself if it gives up).
 * - `answered`: the owner refused with another status (403, 429, 503, …), or answered
 *   something that is not HTTP (then the client gets 502); the answer was passed to the client,
 *   which is ended.
 * - `abandoned`: the client went away before the owner answered; the upstream connection was
 *   destroyed. Nothing to do (in particular, no reason to doubt the owner).
 */
export type ForwardOutcome = 'piped' | 'misdirected' | 'unreachable' | 'answered' | 'abandoned';

/**
 * Counters of one node's forwarding, passed in by the caller (one per node) and read when
 * `/status` or `/metrics` is asked. Bytes are read from the upstream sockets' own byte
 * counts — when a connection closes, and for open ones when asked — so the hot path pays
 * nothing for them.
 */
export class ForwardCounts {
  /** How many forwards ended each way. */
  readonly outcomes: Record<ForwardOutcome, number> = { piped: 0, misdirected: 0, unreachable: 0, answered: 0, abandoned: 0 };
  private readonly live = new Set<Socket>();
  private closedToOwner = 0;
  private closedToClient = 0;

  /** Spliced connections open now. */
  get open(): number {
    return this.live.size;
  }

  /**
   * Bytes forwarded so far, open connections included: `toOwner` from clients to owners (the
   * request heads too), `toClient` from owners to clients (their answer heads too). Walks the
   * open connections: for a scrape, not for a hot path.
   */
  bytes(): { toOwner: number; toClient: number } {
    let toOwner = this.closedToOwner;
    let toClient = this.closedToClient;
    for (const upstream of this.live) {
      toOwner += upstream.bytesWritten;
      toClient += upstream.bytesRead;
    }
    return { toOwner, toClient };
  }

  /** @internal */
  opened(upstream: Socket): void {
    this.live.add(upstream);
  }

  /** @internal Counts a closed upstream's bytes (any upstream, spliced or not, once). */
  closed(upstream: Socket): void {
    this.live.delete(upstream);
    this.closedToOwner += upstream.bytesWritten;
    this.closedToClient += upstream.bytesRead;
  }
}

/** How {@link forwardUpgrade} reaches owners. */
export interface ForwardOptions {
  /** The cluster's shared secret, which signs {@link FORWARDED_HEADER}. */
  readonly secret: ClusterSecret;
  /** This node's id, signed into the header. */
  readonly nodeId: string;
  /** From the start of the connection until the owner's whole answer head has arrived, in ms. Default 2 000. */
  readonly connectTimeoutMs?: number;
  /** Largest answer head taken from an owner, in bytes; a larger one is not HTTP we accept (502). Default 16 KiB. */
  readonly maxHeadBytes?: number;
  /**
   * How long one side of a spliced connection may take nothing of what waits for it (its
   * buffer full, not one drain) before both sockets are destroyed, in ms. Default 30 000.
   * While a side takes nothing, `pipe` has stopped reading the other socket, so a close from
   * there (an owner closing a client that does not read, with 1013) cannot be seen: this
   * bounds how long such a pair holds its two descriptors.
   */
  readonly stallTimeoutMs?: number;
  /** Counters to add this forward to. */
  readonly counts?: ForwardCounts;
}

export const DEFAULT_FORWARD_CONNECT_TIMEOUT_MS = 2_000;
export const DEFAULT_FORWARD_MAX_HEAD_BYTES = 16 * 1024;
export const DEFAULT_FORWARD_STALL_TIMEOUT_MS = 30_000;

/**
 * Once one direction of a splice has ended (a FIN), how long the other may stay open before
 * both sockets are destroyed. A WebSocket's closing handshake ends both directions within a
 * round trip; a peer that never sends its FIN must not hold two descriptors for ever.
 * Also bounds how long a refusal's body may take to pass.
 */
const LINGER_MS = 5_000;

/** Keep-alive probes on node-to-node sockets: an owner that vanishes without a reset is noticed. */
const KEEPALIVE_DELAY_MS = 15_000;

/**
 * Request headers a proxy must not pass on (RFC 9110 §7.6.1), those the client smuggles, and
 * framing headers that would make the owner's parser read a body where this node's parser saw
 * upgrade bytes. `upgrade` stays: the upgrade is what is being forwarded.
 */
const STRIPPED = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'proxy-authenticate',
  'proxy-authorization',
  'te',
  'trailer',
  'transfer-encoding',
  'content-length',
  FORWARDED_HEADER,
]);

const HEAD_END = Buffer.from('\r\n\r\n', 'latin1');

/**
 * Forwards an upgrade request that arrived on `socket` (node:http's `'upgrade'` event: the
 * request, its socket and `head`, the bytes read past the headers) to the node at `target`
 * (`ws://host:port`): connects (TCP_NODELAY, keep-alive), writes the request head as received
 * (`rawHeaders`, in order; hop-by-hop headers and any incoming {@link FORWARDED_HEADER}
 * stripped — a client must never smuggle one) plus a signed {@link FORWARDED_HEADER} for the
 * client's address, then `head`; and reads the owner's answer head.
 *
 * On 101 the answer head goes to the client byte for byte, and the sockets are spliced with
 * `pipe` both ways; from then on both live and die together: an error or an abort of either
 * destroys both, a clean end is passed on as a FIN, and the other direction then has a few
 * seconds to end too; a side that takes nothing for `stallTimeoutMs` ends both. A client that
 * goes away (or sends its FIN) while this waits destroys the upstream.
 *
 * The caller keeps an error listener on `socket` (node:http takes its own off an upgraded
 * socket) and answers the client itself after `misdirected` or `unreachable` if it gives up.
 *
 * Never rejects: every failure is an outcome (see {@link ForwardOutcome}). On `misdirected`
 * and `unreachable` the client's socket has been neither written nor read, so the caller may
 * forward the same `request`, `socket` and `head` again.
 */
export function forwardUpgrade(request: IncomingMessage, socket: Duplex, head: Buffer, target: string, options: ForwardOptions): Promise<ForwardOutcome> {
  const counts = options.counts;
  return forward(request, socket, head, target, options).then((outcome) => {
    if (counts !== undefined) counts.outcomes[outcome] += 1;
    return outcome;
  });
}

function forward(request: IncomingMessage, client: Duplex, head: Buffer, target: string, options: ForwardOptions): Promise<ForwardOutcome> {
  const address = nodeAddress(target);
  // A target another node published badly cannot be reached; saying so is the caller's cue to re-check the lease.
  if (address === undefined) return Promise.resolve('unreachable');
  const clientAddress = request.socket.remoteAddress;
  if (client.destroyed || client.readableEnded || clientAddress === undefined) {
    client.destroy();
    return Promise.resolve('abandoned');
  }
  const requestHead = forwardedHead(request, clientAddress, options);
  const timeoutMs = options.connectTimeoutMs ?? DEFAULT_FORWARD_CONNECT_TIMEOUT_MS;
  const maxHeadBytes = options.maxHeadBytes ?? DEFAULT_FORWARD_MAX_HEAD_BYTES;

  return new Promise<ForwardOutcome>((resolve) => {
    const upstream = connect({ host: address.host, port: address.port, noDelay: true, keepAlive: true, keepAliveInitialDelay: KEEPALIVE_DELAY_MS, allowHalfOpen: true });
    const counts = options.counts;
    if (counts !== undefined) {
      counts.opened(upstream);
      upstream.once('close', () => counts.closed(upstream));
    }
    let received: Buffer[] = [];
    let receivedBytes = 0;
    let settled = false;

    const timer = setTimeout(() => fail('unreachable'), timeoutMs);
    const onClientGone = (): void => fail('abandoned');
    const onUpstreamGone = (): void => fail('unreachable');
    const onData = (chunk: Buffer): void => {
      received.push(chunk);
      receivedBytes += chunk.length;
      // Search only where the new chunk could complete the terminator.
      const all = received.length === 1 ? chunk : Buffer.concat(received, receivedBytes);
      received = [all];
      const end = all.indexOf(HEAD_END, Math.max(0, receivedBytes - chunk.length - 3));
      if (end < 0) {
        if (receivedBytes > maxHeadBytes) answered(badGateway('the owner node answered with an oversized head'));
        return;
      }
      const headEnd = end + HEAD_END.length;
      if (headEnd > maxHeadBytes) return answered(badGateway('the owner node answered with an oversized head'));
      const status = statusOf(all.subarray(0, headEnd));
      if (status === undefined) return answered(badGateway('the owner node answered something that is not HTTP'));
      if (status === 421) return fail('misdirected');
      if (status === 101) return piped(all);
      return answered(all, true);
    };

    // A FIN counts as gone: a WebSocket needs both directions. Node emits 'end' for it even
    // though nothing reads this socket (nothing may: a failed forward leaves it untouched).
    client.on('end', onClientGone);
    client.on('close', onClientGone);
    client.on('error', onClientGone);
    upstream.on('error', onUpstreamGone);
    // Half-open allowed (for the splice): an owner's FIN before its answer must end the wait
    // at once (an owner closing down, say), not after the connect timeout.
    upstream.on('end', onUpstreamGone);
    upstream.on('close', onUpstreamGone);
    upstream.on('data', onData);
    upstream.write(head.length > 0 ? Buffer.concat([requestHead, head]) : requestHead);

    /** Ends the wait: listeners off, the upstream stopped where it is. */
    function settle(): boolean {
      if (settled) return false;
      settled = true;
      clearTimeout(timer);
      client.off('end', onClientGone);
      client.off('close', onClientGone);
      client.off('error', onClientGone);
      upstream.off('error', onUpstreamGone);
      upstream.off('end', onUpstreamGone);
      upstream.off('close', onUpstreamGone);
      upstream.off('data', onData);
      upstream.pause();
      return true;
    }

    /** The owner cannot take this client now; the client's socket is left as it was (unless it is gone). */
    function fail(outcome: 'misdirected' | 'unreachable' | 'abandoned'): void {
      if (!settle()) return;
      // Any error after this is the destroyed socket's own; nobody is left to hear it.
      upstream.on('error', ignore);
      upstream.destroy();
      if (outcome === 'abandoned') client.destroy();
      resolve(outcome);
    }

    /** Passes the owner's refusal (`answer`: its head and whatever followed) to the client, then ends it. */
    function answered(answer: Buffer, more = false): void {
      if (!settle()) return;
      if (client.destroyed || !client.writable) {
        upstream.on('error', ignore);
        upstream.destroy();
        client.destroy();
        return resolve('abandoned');
      }
      client.write(answer);
      if (more) passRest(client, upstream);
      else {
        upstream.on('error', ignore);
        upstream.destroy();
        client.end();
        lingerThenDestroy(client, upstream);
      }
      resolve('answered');
    }

    /** The owner took the client: its answer head (and any frames right behind it) to the client, then raw bytes both ways. */
    function piped(answer: Buffer): void {
      if (!settle()) return;
      if (client.destroyed) {
        upstream.on('error', ignore);
        upstream.destroy();
        return resolve('abandoned');
      }
      if ('setNoDelay' in client && typeof client.setNoDelay === 'function') (client as Socket).setNoDelay(true);
      client.write(answer);
      splice(client, upstream, options.stallTimeoutMs ?? DEFAULT_FORWARD_STALL_TIMEOUT_MS);
      resolve('piped');
    }
  });
}

/**
 * Splices two sockets: `pipe` both ways (so each stops reading while the other cannot take
 * more), and one fate for both — an error or an abort of either destroys both; a clean end of
 * one direction is passed on by `pipe` as a FIN, and starts the linger before both are destroyed;
 * a side that takes nothing for `stallMs` while data waits for it ends both.
 */
function splice(client: Duplex, upstream: Socket, stallMs: number): void {
  let linger: NodeJS.Timeout | undefined;
  let open = 2;
  const destroyBoth = (): void => {
    client.destroy();
    upstream.destroy();
  };
  const ended = (): void => {
    if (linger !== undefined) return;
    linger = setTimeout(destroyBoth, LINGER_MS);
    linger.unref();
  };
  const closed = (stream: Duplex) => (): void => {
    if (--open === 0) clearTimeout(linger);
    // Closed after its read side ended cleanly: `pipe` has passed the FIN on; let the other side flush.
    // Closed any other way (destroyed, reset): the other side goes too.
    else if (stream.readableEnded) ended();
    else destroyBoth();
  };
  client.on('error', destroyBoth);
  upstream.on('error', destroyBoth);
  client.once('end', ended);
  upstream.once('end', ended);
  client.once('close', closed(client));
  upstream.once('close', closed(upstream));
  watchStall(upstream, client, stallMs, destroyBoth);
  watchStall(client, upstream, stallMs, destroyBoth);
  upstream.pipe(client);
  client.pipe(upstream);
}

/**
 * Calls `stalled` when `dest` drains nothing for `ms` after `pipe` paused `source` for it.
 * Off the hot path: `pipe` pauses only when a write finds `dest`'s buffer full, and `drain`
 * comes only after such a write.
 */
function watchStall(source: Duplex, dest: Duplex, ms: number, stalled: () => void): void {
  let timer: NodeJS.Timeout | undefined;
  source.on('pause', () => {
    if (timer !== undefined || source.destroyed) return;
    timer = setTimeout(stalled, ms);
    timer.unref();
  });
  const progress = (): void => {
    clearTimeout(timer);
    timer = undefined;
  };
  dest.on('drain', progress);
  dest.once('close', progress);
}

/**
 * After a refusal's head: the rest of the owner's answer (its body) goes to the client, which
 * is ended when the owner ends; what the client still sends is read and dropped. Both are
 * destroyed within the linger, whatever the peers do.
 */
function passRest(client: Duplex, upstream: Socket): void {
  const destroyBoth = (): void => {
    client.destroy();
    upstream.destroy();
  };
  client.on('error', destroyBoth);
  upstream.on('error', destroyBoth);
  upstream.once('close', () => {
    if (!upstream.readableEnded) client.destroy();
  });
  upstream.pipe(client);
  client.resume();
  lingerThenDestroy(client, upstream);
}

/** After a refusal: both sockets are destroyed within the linger, whatever the peers do. */
function lingerThenDestroy(client: Duplex, upstream: Socket): void {
  const timer = setTimeout(() => {
    client.destroy();
    upstream.destroy();
  }, LINGER_MS);
  timer.unref();
  client.once('close', () => {
    clearTimeout(timer);
    upstream.destroy();
  });
  client.on('error', ignore);
  client.resume();
}

/** The request head the owner gets: the client's, as received, re-framed for one hop. */
function forwardedHead(request: IncomingMessage, clientAddress: string, options: ForwardOptions): Buffer {
  const method = request.method ?? 'GET';
  const url = request.url ?? '/';
  const raw = request.rawHeaders;
  // Headers the client declared hop-by-hop in its Connection header go too (but not the upgrade itself).
  const declared = new Set<string>();
  for (let i = 0; i < raw.length; i += 2) {
    if (raw[i]!.toLowerCase() !== 'connection') continue;
    for (const name of raw[i + 1]!.split(',')) declared.add(name.trim().toLowerCase());
  }
  declared.delete('upgrade');
  let text = `${method} ${url} HTTP/1.1\r\n`;
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!;
    const lower = name.toLowerCase();
    if (STRIPPED.has(lower) || declared.has(lower)) continue;
    text += `${name}: ${raw[i + 1]!}\r\n`;
  }
  const signature = signForwarded(options.secret, { nodeId: options.nodeId, clientAddress, method, url });
  text += `Connection: Upgrade\r\n${FORWARDED_HEADER}: ${signature}\r\n\r\n`;
  // Node decoded the header bytes as latin1: encoding back the same way restores them exactly.
  return Buffer.from(text, 'latin1');
}

/** Host and port of a node's URL (`ws://host:port`; `http:` is taken too), or `undefined`. */
function nodeAddress(target: string): { host: string; port: number } | undefined {
  let url: URL;
  try {
    url = new URL(target);
  } catch {
    return undefined;
  }
  if (url.protocol !== 'ws:' && url.protocol !== 'http:') return undefined;
  const port = url.port === '' ? 80 : Number(url.port);
  // URL keeps an IPv6 literal in brackets; net.connect wants it bare.
  const host = url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname;
  return host === '' ? undefined : { host, port };
}

/** The status code of an answer head, or `undefined` when it does not start with an HTTP/1 status line. */
function statusOf(answerHead: Buffer): number | undefined {
  const line = /^HTTP\/1\.[01] (\d{3})[ \r]/.exec(answerHead.toString('latin1', 0, Math.min(answerHead.length, 64)));
  return line === null ? undefined : Number(line[1]);
}

/** A 502 answer naming what went wrong with the owner's answer. */
function badGateway(reason: string): Buffer {
  const body = `${reason}\n`;
  return Buffer.from(
    `HTTP/1.1 502 ${STATUS_CODES[502]}\r\nConnection: close\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
    'latin1',
  );
}

function ignore(): void {}
