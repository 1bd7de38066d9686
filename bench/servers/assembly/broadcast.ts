// The benchmark's broadcast service as an AssemblyScript guest: every text message goes back
// to everyone in the room — the same logic as bench/servers/broadcast.ts, so the table
// compares a WASM room with a native one.
import { ClientId, Context, Payload, Recipient, Service, register } from "stateroom/assembly";

class Broadcast extends Service {
  message(_client: ClientId, payload: Payload, ctx: Context): void {
    if (payload.isText) ctx.sendMessage(Recipient.broadcast(), payload);
  }
}

register(() => new Broadcast());
