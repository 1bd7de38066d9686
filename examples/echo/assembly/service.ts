// Upstream's echo server (examples/echo/service.ts) in AssemblyScript. The strings match
// upstream's byte for byte: its Rust code prints the id as `ClientId(<n>)`.
import { ClientId, Context, Payload, Recipient, Service, register } from "stateroom/assembly";

function shown(client: ClientId): string {
  return "ClientId(" + client.toString() + ")";
}

class EchoServer extends Service {
  connect(client: ClientId, ctx: Context): void {
    ctx.sendMessage(Recipient.client(client), "User " + shown(client) + " connected.");
  }

  message(client: ClientId, payload: Payload, ctx: Context): void {
    if (!payload.isText) return; // binary messages are ignored, as upstream does
    ctx.sendMessage(Recipient.broadcast(), "User " + shown(client) + " sent '" + payload.text + "'");
  }

  disconnect(client: ClientId, ctx: Context): void {
    ctx.sendMessage(Recipient.broadcast(), "User " + shown(client) + " left.");
  }
}

register(() => new EchoServer());
