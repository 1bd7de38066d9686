// The benchmark's stateroom service: every text message goes back to everyone in the room,
// the sender included (the load generator counts its own copy as the ack). The same logic
// as the raw `ws` and Socket.IO servers beside it, so only the stacks differ.
//
// It counts what it broadcast and has snapshot()/restore() hooks, so that the durable targets
// (`stateroom-durable`, `--state-dir`) really save its rooms; without a state directory the
// hooks are never called and the count is one addition per message.
import type { ClientId, Context, Payload, Service } from 'stateroom';

export default class Broadcast implements Service {
  private broadcasts = 0;

  message(_client: ClientId, payload: Payload, ctx: Context): void {
    if (typeof payload !== 'string') return;
    this.broadcasts += 1;
    ctx.sendMessage('broadcast', payload);
  }

  /** Durable rooms: what is saved of this room. */
  snapshot(): string {
    return String(this.broadcasts);
  }

  /** Durable rooms: start from what snapshot() gave. */
  restore(data: Payload): void {
    this.broadcasts = Number(data);
  }
}
