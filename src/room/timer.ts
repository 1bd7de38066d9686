/**
 * A room's one timer: one-shot, replaced by each new `set`, and able to wait longer than
 * `setTimeout`'s limit (2^31 − 1 ms, past which Node fires at once with a warning).
 * @module
 */

import { MAX_TIMEOUT_MS } from '../protocol.js';

export class RoomTimer {
  private handle: NodeJS.Timeout | undefined;
  /** When the armed timer comes due, in wall-clock ms (what a saved room keeps). */
  private due: number | undefined;

  /**
   * @param onFire - Called once when an armed timer comes due.
   * @param maxStepMs - The longest single `setTimeout`; longer delays are chained. Tests
   *   lower it to prove the chaining without waiting 25 days.
   */
  constructor(
    private readonly onFire: () => void,
    private readonly maxStepMs = MAX_TIMEOUT_MS,
  ) {}

  /** Whether a timer is armed and has not fired yet. */
  get armed(): boolean {
    return this.handle !== undefined;
  }

  /** When the armed timer comes due (epoch ms), or `undefined` when none is armed. */
  get dueAt(): number | undefined {
    return this.handle === undefined ? undefined : this.due;
  }

  /** Arms the timer `ms` from now, replacing any armed one. */
  set(ms: number): void {
    this.clear();
    this.due = Date.now() + ms;
    this.arm(ms);
  }

  /** Disarms the timer; does nothing when none is armed. */
  clear(): void {
    if (this.handle !== undefined) clearTimeout(this.handle);
    this.handle = undefined;
    this.due = undefined;
  }

  private arm(remainingMs: number): void {
    const step = Math.min(remainingMs, this.maxStepMs);
    this.handle = setTimeout(() => {
      if (remainingMs > step) {
        this.arm(remainingMs - step);
        return;
      }
      this.handle = undefined;
      this.due = undefined;
      this.onFire();
    }, step);
  }
}
