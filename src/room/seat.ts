/**
 * A seat: a client's place in a room, which may outlive one socket. It numbers what the
 * room sends to the client and keeps the most recent messages (bounded in bytes), so a
 * client that drops and comes back with its token and the count it received gets exactly
 * what it missed, in order — and the service never notices the drop.
 * @module
 */
import type { ClientId, ClientInfo, Payload } from '../service/types.js';

/** Where a seat's messages go: one socket, as the transport implements it. */
export interface ClientSink {
  send(payload: Payload): void;
  /** Ends the client's connection (e.g. 1011 when the room's service failed). */
  close(code: number, reason: string): void;
}

/** Who a connecting client says it is: `?token=<opaque>&received=<n>` on its URL. */
export interface Identity {
  readonly token?: string | undefined;
  /** How many messages from this room the client has received; present when it resumes. */
  readonly received?: number | undefined;
  /**
   * The client negotiated `stateroom.exact`: before anything else on its connection, it is
   * sent {@link seatFrame} (whether it resumed, and how many of its messages the seat has).
   */
  readonly exact?: boolean | undefined;
  /**
   * What the connection told of the client (its address, origin, user agent, user), for
   * `ctx.clientInfo`: kept by the room from the client's `connect` to its `disconnect` (a
   * resume keeps the first connection's).
   */
  readonly info?: ClientInfo | undefined;
}

/**
 * The control frame a `stateroom.exact` client gets first on each connection: whether its
 * seat was resumed, and how many of its messages the seat has received (0 on a new seat).
 * One small string per connection; never numbered or kept, so never part of a resume.
 */
export function seatFrame(resumed: boolean, received: number): string {
  return `{"seat":"${resumed ? 'resumed' : 'fresh'}","received":${received}}`;
}

/** The tail of every seat that has kept nothing yet; never written to. */
const NOTHING_KEPT: Payload[] = [];

/** What each kept message counts for beyond its payload: its slot in the tail. */
export const MESSAGE_OVERHEAD = 16;

/**
 * How much one seat's resumes may send again within {@link RESUME_WINDOW_MS}, in kept tails
 * (`keepBytes`). A resume sends back what the client missed, up to the whole kept tail, for
 * one small request: a client resuming in a loop from an old count would make the server
 * send without bound. A client on a flaky network is sent again only what it missed.
 */
export const RESUME_REPLAY_TAILS = 4;
export const RESUME_WINDOW_MS = 10_000;

export class Seat implements ClientSink {
  /** Whether the service has seen this client's `connect`: only then is it a recipient. */
  connected = false;
  /** Bytes of this client's messages queued in the room and not yet handed to the service. */
  queuedBytes = 0;
  /**
   * How many messages of this client the seat has received, across its connections: each one
   * the room accepted from the connection holding the seat, and each one the transport
   * dropped over the client's rate limit (it arrived; see docs/client.md). A resuming exact
   * client learns it, and sends again only what came after.
   */
  received = 0;
  private sink: ClientSink | undefined;
  /** How many messages the room has sent this seat, in all. */
  private sent = 0;
  /**
   * The newest messages, oldest first, from `tail[head]`: numbers `sent - kept + 1` to `sent`.
   * Shared and empty until a message is kept: most seats (no token) never keep one.
   */
  private tail: Payload[] = NOTHING_KEPT;
  private head = 0;
  private tailBytes = 0;
  /** When the current window of resumes began (`performance.now()`), and what they sent again in it. */
  private resumeWindowStart = 0;
  private replayedInWindow = 0;

  /**
   * @param keepBytes - How much of the newest traffic to keep for a resume (0 keeps nothing).
   *   Strings count by their length (cheap, and close to what they occupy), and every
   *   message costs {@link MESSAGE_OVERHEAD} more, so that empty ones are bounded too.
   */
  constructor(
    readonly client: ClientId,
    readonly token: string | undefined,
    sink: ClientSink,
    private readonly keepBytes: number,
  ) {
    this.sink = sink;
  }

  /** Whether a sink is attached (a detached seat is waiting for its client to come back). */
  get attached(): boolean {
    return this.sink !== undefined;
  }

  /** Whether `sink` is the one attached now (a replaced connection's late close is ignored). */
  holds(sink: ClientSink): boolean {
    return this.sink === sink;
  }

  send(payload: Payload): void {
    this.sent += 1;
    if (this.keepBytes > 0) this.remember(payload);
    this.sink?.send(payload);
  }

  close(code: number, reason: string): void {
    const sink = this.sink;
    this.sink = undefined;
    sink?.close(code, reason);
  }

  /** Whether a client that has received `received` messages can be brought up to date. */
  canResumeFrom(received: number): boolean {
    return Number.isInteger(received) && received <= this.sent && received >= this.sent - this.kept;
  }

  /**
   * Attaches `sink` and sends it every message after the first `received` — after the
   * {@link seatFrame} when `exact`.
   */
  resume(sink: ClientSink, received: number, exact: boolean): void {
    const now = performance.now();
    if (now - this.resumeWindowStart >= RESUME_WINDOW_MS) {
      this.resumeWindowStart = now;
      this.replayedInWindow = 0;
    }
    this.sink = sink;
    if (exact) sink.send(seatFrame(true, this.received));
    for (let i = this.tail.length - (this.sent - received); i < this.tail.length; i++) {
      const payload = this.tail[i]!;
      this.replayedInWindow += payload.length + MESSAGE_OVERHEAD;
      sink.send(payload);
    }
  }

  /** What this seat's resumes may send again per window: {@link RESUME_REPLAY_TAILS} kept tails. */
  get replayBudget(): number {
    return RESUME_REPLAY_TAILS * this.keepBytes;
  }

  /** Whether the seat's resumes have sent again its {@link replayBudget} in the current window. */
  replayedTooMuch(): boolean {
    return performance.now() - this.resumeWindowStart < RESUME_WINDOW_MS && this.replayedInWindow >= this.replayBudget;
  }

  /** The connection is gone; messages are still numbered and kept for a resume. */
  detach(): void {
    this.sink = undefined;
  }

  private get kept(): number {
    return this.tail.length - this.head;
  }

  private remember(payload: Payload): void {
    if (this.tail === NOTHING_KEPT) this.tail = [];
    this.tail.push(payload);
    this.tailBytes += payload.length + MESSAGE_OVERHEAD;
    while (this.tailBytes > this.keepBytes && this.head < this.tail.length) {
      this.tailBytes -= this.tail[this.head++]!.length + MESSAGE_OVERHEAD;
    }
    // Drop what was trimmed now and then, not on every message.
    if (this.head > 64 && this.head * 2 > this.tail.length) {
      this.tail = this.tail.slice(this.head);
      this.head = 0;
    }
  }
}
