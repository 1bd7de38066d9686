// Upstream's echo server. The strings match upstream's byte for byte: its Rust code formats
// the id with `{:?}`, which prints the ClientId newtype as `ClientId(<n>)`.
import type { ClientId, Context, Payload, Service } from 'stateroom';

const shown = (client: ClientId): string => `ClientId(${client})`;

export default class EchoServer implements Service {
  connect(client: ClientId, ctx: Context): void {
    ctx.sendMessage(client, `User ${shown(client)} connected.`);
  }

  message(client: ClientId, payload: Payload, ctx: Context): void {
    if (typeof payload !== 'string') return; // binary messages are ignored, as upstream does
    ctx.sendMessage('broadcast', `User ${shown(client)} sent '${payload}'`);
  }

  disconnect(client: ClientId, ctx: Context): void {
    ctx.sendMessage('broadcast', `User ${shown(client)} left.`);
  }
}
