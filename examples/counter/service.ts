// The shared counter from upstream Stateroom's README: `increment` and `decrement` change
// one number per room and every client in the room sees the new value; other messages are
// ignored. Run it with `npm start`, or `npx stateroom serve examples/counter/service.ts`.
// With `--state-dir ./state` the value survives restarts: snapshot() and restore() below.
import type { ClientId, Context, Payload, Service } from 'stateroom';

export default class SharedCounter implements Service {
  private value = 0;

  message(_client: ClientId, payload: Payload, ctx: Context): void {
    if (payload === 'increment') this.value += 1;
    else if (payload === 'decrement') this.value -= 1;
    else return;
    ctx.sendMessage('broadcast', `new value: ${this.value}`);
  }

  /** Durable rooms (`--state-dir`): what is saved of this room. */
  snapshot(): string {
    return String(this.value);
  }

  /** Durable rooms: start from what snapshot() gave, instead of from 0. */
  restore(data: Payload): void {
    this.value = Number(data);
  }
}
