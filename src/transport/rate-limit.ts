/**
 * Rate limits: a token bucket per client for messages and bytes, and a per-IP count of
 * connection attempts per minute. Pure bookkeeping with the clock passed in, so tests can
 * drive it; the transport decides what to do with a refusal.
 * @module
 */

/**
 * A bucket of tokens refilled at `perSecond`, holding at most one second's worth (the burst).
 * A take larger than a second's worth passes when the bucket is full and leaves it in debt, so
 * a message longer than the per-second byte budget is slow to follow, not refused for ever;
 * the rate holds on average either way.
 */
export class TokenBucket {
  private tokens: number;
  private last: number;

  constructor(
    private readonly perSecond: number,
    now: number,
  ) {
    this.tokens = perSecond;
    this.last = now;
  }

  /** Refills for the time since the last look; says whether `count` tokens may be taken now. */
  allows(count: number, now: number): boolean {
    this.tokens = Math.min(this.perSecond, this.tokens + ((now - this.last) / 1000) * this.perSecond);
    this.last = now;
    return this.tokens >= Math.min(count, this.perSecond);
  }

  /** Takes `count` tokens (after {@link allows} said yes). */
  spend(count: number): void {
    this.tokens -= count;
  }
}

export interface ClientRates {
  /** Messages per second; 0 for no limit. */
  readonly messagesPerSecond: number;
  /** Payload bytes per second; 0 for no limit. */
  readonly bytesPerSecond: number;
  /** A client still over its limit this long after its first dropped message is closed. */
  readonly persistMs: number;
}

/** What became of one incoming message. */
export type Verdict = 'pass' | 'drop-first' | 'drop' | 'close';

/** One client's limits: drop what is over, and say when the flood has gone on too long. */
export class ClientLimiter {
  private readonly messages: TokenBucket | undefined;
  private readonly bytes: TokenBucket | undefined;
  private episodeStart = 0;
  private lastDrop = -Infinity;
  /** Messages dropped in the current episode. */
  dropped = 0;

  constructor(
    private readonly rates: ClientRates,
    now: number,
  ) {
    if (rates.messagesPerSecond > 0) this.messages = new TokenBucket(rates.messagesPerSecond, now);
    if (rates.bytesPerSecond > 0) this.bytes = new TokenBucket(rates.bytesPerSecond, now);
  }

  /**
   * Judges one message of `size` bytes. `drop-first` starts an episode of drops (log it);
   * an episode ends after a second without drops; one longer than `persistMs` is `close`.
   */
  judge(size: number, now: number): Verdict {
    // Both budgets asked before either is spent: a message dropped for its bytes costs no
    // message token.
    const fits = (this.messages?.allows(1, now) ?? true) && (this.bytes?.allows(size, now) ?? true);
    if (fits) {
      this.messages?.spend(1);
      this.bytes?.spend(size);
      return 'pass';
    }
    const newEpisode = now - this.lastDrop > 1_000;
    this.lastDrop = now;
    if (newEpisode) {
      this.episodeStart = now;
      this.dropped = 1;
      return 'drop-first';
    }
    this.dropped += 1;
    return now - this.episodeStart >= this.rates.persistMs ? 'close' : 'drop';
  }
}

/** Connection attempts per IP in fixed one-minute windows. */
export class ConnectionRate {
  private window = 0;
  private counts = new Map<string, number>();

  /** @param perMinute - Attempts allowed per IP per minute; 0 for no limit. */
  constructor(private readonly perMinute: number) {}

  /** Whether attempts are limited at all. */
  get limited(): boolean {
    return this.perMinute > 0;
  }

  /** Counts an attempt from `ip`; false when it is over the limit. */
  allow(ip: string, now: number): boolean {
    if (this.perMinute <= 0) return true;
    const window = Math.floor(now / 60_000);
    if (window !== this.window) {
      // A new minute: forget the last one, so the map never outgrows one minute's callers.
      this.window = window;
      this.counts = new Map();
    }
    const count = (this.counts.get(ip) ?? 0) + 1;
    this.counts.set(ip, count);
    return count <= this.perMinute;
  }
}
