// Upstream's clock: from the moment the room is created, broadcast `Timer @ <n>` every 4 s.
import type { Context, Service } from 'stateroom';

const TICK_MS = 4_000;

export default class ClockServer implements Service {
  private ticks = 0;

  init(ctx: Context): void {
    ctx.setTimer(TICK_MS);
  }

  timer(ctx: Context): void {
    ctx.sendMessage('broadcast', `Timer @ ${this.ticks}`);
    this.ticks += 1;
    ctx.setTimer(TICK_MS);
  }
}
