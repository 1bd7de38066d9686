// The benchmark's stateroom service: every text message goes back to everyone in the room,
// the sender included (the load generator counts its own copy as the ack). The same logic
// as the raw `ws` and Socket.IO servers beside it, so only the stacks differ.
import type { ClientId, Context, Payload, Service } from 'stateroom';

export default class Broadcast implements Service {
  message(_client: ClientId, payload: Payload, ctx: Context): void {
    if (typeof payload === 'string') ctx.sendMessage('broadcast', payload);
  }
}
