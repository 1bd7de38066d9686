/**
 * Which WebSocket upgrades may go on: every check runs before the upgrade is accepted, so
 * that every refusal is a plain HTTP answer with a one-line reason — path and query (400,
 * 404), connection rate (429), a room of another worker (421), Origin (403), the authorize
 * hook, then the placement's room limits (503).
 * @module
 */
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { ErrorCode, StateroomError, describeThrown } from '../errors.js';
import { throttleOf, type Logger } from '../logger.js';
import type { Authorize } from '../options.js';
import type { Admission, Placement } from '../room/placement.js';
import type { Identity } from '../room/seat.js';
import type { ClientUser } from '../service/types.js';
import { readVerdict, seatToken } from './authorize-verdict.js';
import { ConnectionRate } from './rate-limit.js';
import { refuseUpgrade } from './reply.js';
import { clientAddressOf, type Router } from './router.js';
import { parseIdentity, parseRoomPath, splitTarget } from './room-path.js';

/** What an admitted upgrade asked for, kept from the checks until the socket opens. */
export interface Target {
  readonly roomId: string;
  readonly identity: Identity;
  /** Whether the client will resume a seat the room holds for it. */
  readonly resumes: boolean;
  /** The user `authorize` admitted the client as, when it named one (`ctx.clientInfo`). */
  readonly user?: ClientUser | undefined;
  /** The request's query string (without `?`), as split once here: `ctx.clientInfo`'s `query`. */
  readonly query: string;
}

export interface AdmissionOptions {
  /** Browser origins allowed to connect; empty allows any. */
  readonly allowedOrigins: readonly string[];
  /** Runs before a client joins; see `ServerOptions.authorize`. */
  readonly authorize?: Authorize | undefined;
  /** Connection attempts per minute per IP (0: no limit). */
  readonly connectionRateLimit: number;
  /**
   * Whether this process hosts `roomId` (a worker of `--workers N` hosts the rooms the
   * primary routes to it); an upgrade for another room is refused with 421, so one room
   * never runs in two processes, however a connection got here. Default: every room.
   */
  readonly ownsRoom?: (roomId: string) => boolean;
  /** Rooms served on other machines: their upgrades are forwarded, not admitted here. */
  readonly router?: Router | undefined;
}

/** What the checks that need nothing but the request found. */
type Checked = Omit<Target, 'resumes'>;

/** The authorize hook's admission: as this user, or as none. */
interface Verdict {
  readonly user?: ClientUser;
}

/** The verdict when there is no authorize hook: admitted, as no user. */
const ADMITTED: Verdict = Object.freeze({});

export class UpgradeAdmission {
  private readonly attempts: ConnectionRate;

  constructor(
    private readonly placement: Placement,
    private readonly options: AdmissionOptions,
    private readonly log: Logger,
  ) {
    this.attempts = new ConnectionRate(options.connectionRateLimit);
  }

  /**
   * Checks an upgrade request: what it asked for, or `undefined` once it has been refused (the
   * answer is written and the socket ended). A promise only when a check on the way waits for
   * something (the router, the authorize hook, a saved room's preload): with none of those an
   * upgrade is admitted in the turn it arrived, with no promise or suspended frame to leave
   * behind — what a burst of connections is otherwise made of.
   */
  check(req: IncomingMessage, socket: Duplex, head: Buffer): Target | undefined | Promise<Target | undefined> {
    const checked = this.checkRequest(req, socket);
    if (checked === undefined) return undefined;
    const { router, authorize } = this.options;
    if (router !== undefined || authorize !== undefined) return this.checkHooks(req, socket, head, checked);
    if (this.checkOrigin(req, socket) === undefined) return undefined;
    return this.place(socket, checked, ADMITTED);
  }

  /** The rest of {@link check} when the router or the authorize hook is set: awaits them in turn. */
  private async checkHooks(req: IncomingMessage, socket: Duplex, head: Buffer, checked: Checked): Promise<Target | undefined> {
    if (this.options.router !== undefined && (await this.forwarded(req, socket, head, checked.roomId))) return undefined;
    if (this.checkOrigin(req, socket) === undefined) return undefined;
    const verdict = this.options.authorize === undefined ? ADMITTED : await this.authorized(req, socket, checked.roomId);
    if (verdict === false || socket.destroyed) return undefined;
    return this.place(socket, checked, verdict);
  }

  /** The placement's room limits (503), last: binds the client's token to the user it was admitted as. */
  private place(socket: Duplex, checked: Checked, verdict: Verdict): Target | undefined | Promise<Target | undefined> {
    const { token } = checked.identity;
    const target = token === undefined ? checked : { ...checked, identity: { ...checked.identity, token: seatToken(verdict.user, token) } };
    const answer = this.placement.admit(target.roomId, target.identity);
    if (answer instanceof Promise) return answer.then((admission) => this.placed(socket, target, verdict, admission));
    return this.placed(socket, target, verdict, answer);
  }

  /** What the upgrade asked for once the placement answered, or `undefined` when it refused. */
  private placed(socket: Duplex, target: Checked, verdict: Verdict, admission: Admission): Target | undefined {
    if (socket.destroyed) return undefined;
    if (!admission.ok) {
      this.refused(socket, admission.status, admission.reason);
      return undefined;
    }
    // Built whole, not spread: the one object an admitted upgrade keeps until its socket opens.
    const { roomId, identity, query } = target;
    return { roomId, identity, query, resumes: admission.resumes, user: verdict.user };
  }

  /** The checks that need nothing but the request, in the order their answers make sense. */
  private checkRequest(req: IncomingMessage, socket: Duplex): Checked | undefined {
    const { pathname, query } = splitTarget(req.url ?? '/');
    const room = parseRoomPath(pathname);
    if (room === undefined) return this.refused(socket, 404, `not found: ${pathname} (WebSockets connect to /ws/<room>)`);
    // Only asked for when limited: Node keeps the peer's address on the socket once read.
    const ip = this.attempts.limited ? (clientAddressOf(req, this.options.router) ?? '?') : '';
    if (!this.attempts.allow(ip, Date.now())) return this.refused(socket, 429, `too many connection attempts from ${ip}; try again in a minute`);
    if (!room.ok) return this.refused(socket, 400, room.reason);
    const identity = parseIdentity(query);
    if (!identity.ok) return this.refused(socket, 400, identity.reason);
    const { ownsRoom } = this.options;
    if (ownsRoom !== undefined && !ownsRoom(room.roomId)) {
      return this.refused(socket, 421, `room "${room.roomId}" is served by another worker process: connect again on a new connection`);
    }
    return { roomId: room.roomId, identity, query };
  }

  /** The Origin check (403): the room's owner runs it, so it comes after forwarding. */
  private checkOrigin(req: IncomingMessage, socket: Duplex): true | undefined {
    const { allowedOrigins } = this.options;
    const origin = req.headers.origin;
    if (origin !== undefined && allowedOrigins.length > 0 && !allowedOrigins.includes(origin)) return this.refused(socket, 403, `origin ${origin} is not allowed`);
    return true;
  }

  /** Hands the upgrade to the router's forwarder when the room is served elsewhere; true when it did. */
  private async forwarded(req: IncomingMessage, socket: Duplex, head: Buffer, roomId: string): Promise<boolean> {
    const { router } = this.options;
    if (router === undefined) return false;
    const answer = router.route(roomId, req, socket, head);
    const route = answer instanceof Promise ? await answer : answer;
    return route === 'taken' || socket.destroyed;
  }

  /**
   * Answers an upgrade with `status` and its one-line reason, and says so in the log at info —
   * throttled: refusals are what a flood of bad connections is made of.
   */
  private refused(socket: Duplex, status: number, reason: string): undefined {
    refuseUpgrade(socket, status, reason);
    const ip = (socket as { remoteAddress?: string }).remoteAddress;
    throttleOf(this.log).write('info', 'refused upgrades', `${status}\0${reason}`, { status, ip, reason }, `upgrade refused with ${status}: ${reason}`);
    return undefined;
  }

  /**
   * Runs the authorize hook: false once a refusal (or a hook that throws or answers what it
   * may not) has answered the request, else the user the client's token is bound to, if the
   * hook named one.
   */
  private async authorized(req: IncomingMessage, socket: Duplex, roomId: string): Promise<false | Verdict> {
    const { authorize } = this.options;
    if (authorize === undefined) return {};
    let verdict;
    try {
      const address = clientAddressOf(req, this.options.router) ?? '';
      verdict = readVerdict(await authorize(req, roomId, { address }));
    } catch (err) {
      // Every client can make it throw again: throttled (its stack once per window).
      throttleOf(this.log).error('authorize', `threw\0${describeThrown(err)}`, { err, roomId }, `authorize threw for room "${roomId}": ${describeThrown(err)}`);
      refuseUpgrade(socket, 500, 'authorization failed');
      return false;
    }
    if (verdict.kind === 'admit') return verdict.user === undefined ? {} : { user: verdict.user };
    if (verdict.kind === 'refuse') {
      this.refused(socket, verdict.status, verdict.reason);
      return false;
    }
    // Every client can make this happen again: throttled, like the refusals.
    const err = new StateroomError(ErrorCode.AUTHORIZE_INVALID, `authorize for room "${roomId}" answered what it may not: ${verdict.why}; the client got 500`, { roomId });
    throttleOf(this.log).error('authorize', verdict.why, { err, roomId }, err.message);
    refuseUpgrade(socket, 500, 'authorization failed');
    return false;
  }
}
