/**
 * Emulates `clearTimer()`, which the ABI lacks: the host only knows `SetTimer`, which
 * replaces the room's one outstanding timer, and every `SetTimer` is followed by exactly
 * one `Timer` event unless a later `SetTimer` replaced it. So one flag suffices: set by
 * `setTimer`, cleared by `clearTimer`, and consumed by the `Timer` event it lets through.
 * A cleared timer still fires on the host; its `Timer` event is then dropped here.
 */
export class TimerGate {
  private armed: bool = false;

  /** A `SetTimer` was sent: the next `Timer` event is the service's. */
  arm(): void {
    this.armed = true;
  }

  /** The service cleared its timer: drop the next `Timer` event. */
  disarm(): void {
    this.armed = false;
  }

  /** A `Timer` event arrived: returns whether to deliver it to the service. */
  fire(): bool {
    const deliver = this.armed;
    this.armed = false;
    return deliver;
  }
}
