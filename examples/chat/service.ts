// The chat server from upstream's documentation: every client gets a nickname
// (`client<id>`), `/nick <name>` changes it, anything else is broadcast with the sender's name.
import type { ClientId, Context, Payload, Service } from 'stateroom';

export default class ChatServer implements Service {
  private readonly nicknames = new Map<ClientId, string>();

  connect(client: ClientId, ctx: Context): void {
    const name = `client${client}`;
    this.nicknames.set(client, name);
    ctx.sendMessage(client, `Welcome to the chat! Your name is ${name}. Send /nick <username> to change it.`);
    ctx.sendMessage('broadcast', `${name} has joined the chat`);
  }

  disconnect(client: ClientId, ctx: Context): void {
    const name = this.nameOf(client);
    this.nicknames.delete(client);
    ctx.sendMessage('broadcast', `${name} has left the chat`);
  }

  message(client: ClientId, payload: Payload, ctx: Context): void {
    if (typeof payload !== 'string') return; // binary messages are ignored
    const oldName = this.nameOf(client);
    if (payload.startsWith('/nick ')) {
      const newName = payload.slice('/nick '.length);
      this.nicknames.set(client, newName);
      ctx.sendMessage('broadcast', `${oldName} is now known as ${newName}`);
    } else {
      ctx.sendMessage('broadcast', `${oldName}: ${payload}`);
    }
  }

  private nameOf(client: ClientId): string {
    return this.nicknames.get(client) ?? `client${client}`;
  }
}
