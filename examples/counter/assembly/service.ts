// The shared counter (examples/counter/service.ts) in AssemblyScript: `increment` and
// `decrement` change one number per room and every client sees `new value: <n>`; other
// messages are ignored. Build it with `stateroom build` (docs/cli.md), serve the .wasm.
import { ClientId, Context, Payload, Recipient, Service, register } from "stateroom/assembly";

class SharedCounter extends Service {
  // i64 rather than i32 so that it wraps no sooner than the native example's number
  // stops being exact (2^53).
  private value: i64 = 0;

  message(_client: ClientId, payload: Payload, ctx: Context): void {
    if (!payload.isText) return;
    if (payload.text == "increment") this.value += 1;
    else if (payload.text == "decrement") this.value -= 1;
    else return;
    ctx.sendMessage(Recipient.broadcast(), "new value: " + this.value.toString());
  }
}

register(() => new SharedCounter());
