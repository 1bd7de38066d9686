/**
 * The seats of one room: who holds one, which token holds which, the grace period of a
 * client that dropped, and the client ids given out. The room asks it to seat, hold and give
 * up clients; it tells the room when a seat is gone for good, so the room can queue that
 * client's `disconnect`.
 * @module
 */
import { createHash } from 'node:crypto';
import { ErrorCode, StateroomError } from '../errors.js';
import { CLOSE_REPLACED } from '../protocol.js';
import { MAX_CLIENT_ID } from '../service/checks.js';
import type { ClientId } from '../service/types.js';
import { RESUME_WINDOW_MS, Seat, seatFrame, type ClientSink, type Identity } from './seat.js';
import { TOKEN_DIGEST_BYTES } from './state.js';

/** How a room treats clients that drop. */
export interface SeatOptions {
  /** How long a dropped client with a token keeps its seat; 0 turns resume off. */
  readonly resumeGraceMs: number;
  /** How much of each seat's newest traffic is kept for a resume, in bytes. */
  readonly resumeBufferBytes: number;
}

/** How many tokens whose seats are gone a room still remembers the client ids of. */
export const MAX_REMEMBERED_TOKENS = 10_000;
/** How many of those a snapshot keeps (the newest): 20 bytes each in the room's image. */
export const MAX_SAVED_TOKENS = 1_000;

/** A token's digest, as a snapshot keeps it (see RoomState.tokenIds). */
function digestOf(token: string): Buffer {
  return createHash('sha256').update(token).digest().subarray(0, TOKEN_DIGEST_BYTES);
}
export class Seats {
  /** Every seat, attached or waiting for its client to come back. */
  private readonly byClient = new Map<ClientId, Seat>();
  /** The live seat of each token. */
  private readonly byToken = new Map<string, Seat>();
  /**
   * Each token's client id (as upstream 0.2.5+ did), for the room's life — the newest
   * {@link MAX_REMEMBERED_TOKENS} of those no longer seated, so that clients connecting with
   * ever new tokens cannot grow a long-lived room without bound.
   */
  private readonly tokenIds = new Map<string, ClientId>();
  /** Client ids of tokens from the state the room was restored from, by digest (hex), until claimed. */
  private readonly restoredIds = new Map<string, ClientId>();
  /** Seats whose client dropped, with the timer that gives them up. */
  private readonly grace = new Map<Seat, NodeJS.Timeout>();
  private lastClientId = 0;

  /**
   * @param released - A seat is gone for good (given up, or its grace period ran out): the
   *   room queues its client's `disconnect`.
   */
  constructor(
    private readonly roomId: string,
    private readonly options: SeatOptions,
    private readonly released: (seat: Seat) => void,
  ) {}

  /** How many clients hold a seat (connected, or dropped and within their grace period). */
  get size(): number {
    return this.byClient.size;
  }

  get(client: ClientId): Seat | undefined {
    return this.byClient.get(client);
  }

  values(): IterableIterator<Seat> {
    return this.byClient.values();
  }

  /** Whether a seat is held for `token` (a client with it would take that seat's place). */
  holdsToken(token: string): boolean {
    return this.byToken.has(token);
  }

  /** Whether a client with this identity would resume its seat (rather than take a new one). */
  resumable(identity: Identity): boolean {
    const seat = identity.token === undefined ? undefined : this.byToken.get(identity.token);
    return seat !== undefined && this.options.resumeGraceMs > 0 && identity.received !== undefined && seat.canResumeFrom(identity.received);
  }

  /**
   * Why a client that would resume its seat ({@link resumable}) may not do so now (its seat's
   * resumes sent too much again), or undefined.
   */
  resumeRefusal(identity: Identity): string | undefined {
    const seat = identity.token === undefined ? undefined : this.byToken.get(identity.token);
    if (seat === undefined || !seat.replayedTooMuch()) return undefined;
    return `client ${seat.client} resumed from far back too often (${seat.replayBudget} bytes sent again within ${RESUME_WINDOW_MS / 1000} s); try again in a few seconds`;
  }

  /**
   * Seats a client on `sink`. A token whose seat is held closes that seat's socket (4001)
   * and, when the client can be brought up to date, resumes the seat: it gets what it missed.
   * Otherwise the held seat is given up and the client gets a new one — with the token's old
   * client id if it had one, else the next id after the last one given out, so ids are never
   * reused while the room lives. An exact client (`identity.exact`) gets the seat frame
   * first, before what it missed and before anything the service sends.
   * @throws {@link StateroomError} `SR_ERR_CLIENT_IDS_EXHAUSTED` when no client id is left.
   */
  take(sink: ClientSink, identity: Identity): { seat: Seat; resumed: boolean } {
    const { token, received, exact = false } = identity;
    const held = token === undefined ? undefined : this.byToken.get(token);
    if (held !== undefined) {
      if (held.attached) held.close(CLOSE_REPLACED, 'replaced by a newer connection with the same token');
      if (this.resumable(identity)) {
        this.cancelGrace(held);
        held.resume(sink, received ?? 0, exact);
        return { seat: held, resumed: true };
      }
      this.giveUp(held);
    }
    const client = (token === undefined ? undefined : (this.tokenIds.get(token) ?? this.claimRestored(token))) ?? this.nextClientId();
    const keep = token !== undefined && this.options.resumeGraceMs > 0 ? this.options.resumeBufferBytes : 0;
    const seat = new Seat(client, token, sink, keep);
    if (exact) sink.send(seatFrame(false, 0));
    this.byClient.set(client, seat);
    if (token !== undefined) {
      this.byToken.set(token, seat);
      this.remember(token, client);
    }
    return { seat, resumed: false };
  }

  /** The client id `token` had in the state the room was restored from, if any (once). */
  private claimRestored(token: string): ClientId | undefined {
    if (this.restoredIds.size === 0) return undefined;
    const key = digestOf(token).toString('hex');
    const client = this.restoredIds.get(key);
    this.restoredIds.delete(key);
    return client;
  }

  /** The newest {@link MAX_SAVED_TOKENS} tokens' client ids, by digest, for a snapshot. */
  savedTokenIds(): Array<readonly [Uint8Array, ClientId]> {
    const saved: Array<readonly [Uint8Array, ClientId]> = [];
    for (const [key, client] of this.restoredIds) saved.push([Buffer.from(key, 'hex'), client]);
    for (const [token, client] of this.tokenIds) saved.push([digestOf(token), client]);
    return saved.slice(-MAX_SAVED_TOKENS);
  }

  /** Goes on with the tokens' client ids of a saved state: a returning token gets its id back. */
  restoreTokenIds(saved: ReadonlyArray<readonly [Uint8Array, ClientId]>): void {
    for (const [digest, client] of saved.slice(-MAX_SAVED_TOKENS)) {
      if (client >= 1 && client <= this.lastClientId) this.restoredIds.set(Buffer.from(digest).toString('hex'), client);
    }
  }

  /** Keeps `token`'s client id, newest last; forgets the oldest ones not seated past the bound. */
  private remember(token: string, client: ClientId): void {
    this.tokenIds.delete(token);
    this.tokenIds.set(token, client);
    if (this.tokenIds.size <= MAX_REMEMBERED_TOKENS) return;
    for (const old of this.tokenIds.keys()) {
      if (this.tokenIds.size <= MAX_REMEMBERED_TOKENS) break;
      if (!this.byToken.has(old)) this.tokenIds.delete(old);
    }
  }

  /**
   * The seat's socket is gone. A seat with a token is held for the grace period (when
   * `holding`); any other is given up at once.
   */
  drop(seat: Seat, holding: boolean): void {
    if (holding && seat.token !== undefined && this.options.resumeGraceMs > 0) {
      seat.detach();
      const timer = setTimeout(() => this.giveUp(seat), this.options.resumeGraceMs);
      timer.unref();
      this.grace.set(seat, timer);
      return;
    }
    this.giveUp(seat);
  }

  /** Gives up every seat whose client is away: nobody will resume it now. */
  giveUpDetached(): void {
    for (const seat of [...this.byClient.values()]) if (!seat.attached) this.giveUp(seat);
  }

  /** The seat is gone for good: forget it and tell the room. */
  giveUp(seat: Seat): void {
    this.cancelGrace(seat);
    if (this.byClient.get(seat.client) !== seat) return;
    this.byClient.delete(seat.client);
    if (seat.token !== undefined && this.byToken.get(seat.token) === seat) this.byToken.delete(seat.token);
    seat.connected = false;
    this.released(seat);
  }

  /** Closes every seat's socket with `code` and forgets them all, without telling the room. */
  closeAll(code: number, reason: string): void {
    this.stopGrace();
    const seats = [...this.byClient.values()];
    this.byClient.clear();
    this.byToken.clear();
    for (const seat of seats) seat.close(code, reason);
  }

  /** No seat will be given up by its timer any more. */
  stopGrace(): void {
    for (const timer of this.grace.values()) clearTimeout(timer);
    this.grace.clear();
  }

  private cancelGrace(seat: Seat): void {
    const timer = this.grace.get(seat);
    if (timer === undefined) return;
    clearTimeout(timer);
    this.grace.delete(seat);
  }

  /** The last client id given out: a restored room goes on from it, so ids are never reused. */
  get lastId(): ClientId {
    return this.lastClientId;
  }

  /** Goes on giving out ids after `last` (a restored room's); never goes back. */
  continueFrom(last: ClientId): void {
    this.lastClientId = Math.max(this.lastClientId, Math.min(last, MAX_CLIENT_ID));
  }

  private nextClientId(): ClientId {
    if (this.lastClientId >= MAX_CLIENT_ID) {
      throw new StateroomError(
        ErrorCode.CLIENT_IDS_EXHAUSTED,
        `room "${this.roomId}" has given out all 2^32 - 1 client ids; it must be disposed before more clients can join`,
        { roomId: this.roomId },
      );
    }
    return ++this.lastClientId;
  }
}
