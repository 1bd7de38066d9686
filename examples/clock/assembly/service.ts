// Upstream's clock (examples/clock/service.ts) in AssemblyScript: from the moment the room
// is created, broadcast `Timer @ <n>` every 4 s.
import { Context, Recipient, Service, register } from "stateroom/assembly";

const TICK_MS: u32 = 4_000;

class ClockServer extends Service {
  private ticks: u64 = 0;

  init(ctx: Context): void {
    ctx.setTimer(TICK_MS);
  }

  timer(ctx: Context): void {
    ctx.sendMessage(Recipient.broadcast(), "Timer @ " + this.ticks.toString());
    this.ticks += 1;
    ctx.setTimer(TICK_MS);
  }
}

register(() => new ClockServer());
