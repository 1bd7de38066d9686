// The room behind test/react/page.ts: JSON messages routed by stateroom/json, any other text
// echoed (the page's raw useRoom view), and every connect and disconnect recorded for the test.
import type { ClientId, Context, Payload, Service } from '../../src/index.js';
import { route, typed } from '../../src/json/index.js';

export interface Talk {
  toServer: { say: { text: string } };
  toClient: { said: { from: number; text: string }; hello: { client: number } };
}

/** What the rooms saw, as `<room> connect <id>` / `<room> disconnect <id>`, in order. */
export type Seen = string[];

export function talkService(seen: Seen, changed: () => void): new (roomId: string, ctx: Context) => Service {
  return class TalkRoom implements Service {
    private readonly json = route<Talk>({
      say: (client, { text }, ctx) => ctx.broadcast({ type: 'said', from: client, text }),
    });

    connect(client: ClientId, ctx: Context): void {
      record(`${ctx.roomId} connect ${client}`);
      if (!ctx.roomId.endsWith('-raw')) typed<Talk>(ctx).send(client, { type: 'hello', client });
    }

    disconnect(client: ClientId, ctx: Context): void {
      record(`${ctx.roomId} disconnect ${client}`);
    }

    message(client: ClientId, payload: Payload, ctx: Context) {
      if (ctx.roomId.endsWith('-raw')) return ctx.sendMessage(client, `echo: ${String(payload)}`);
      return this.json(client, payload, ctx);
    }
  };

  function record(event: string): void {
    seen.push(event);
    changed();
  }
}
