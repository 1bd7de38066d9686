// Type-level tests of stateroom/json: this file must typecheck (`npm run typecheck`), and each
// `@ts-expect-error` line must be an error — a wrong type, field or handler that compiled
// would make the typecheck fail ("unused @ts-expect-error"). The few runtime checks below run
// what the types describe.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Client } from '../client/index.js';
import type { ClientId, Context, Service } from '../service/types.js';
import { jsonClient, route, typed, type Incoming, type Message, type Protocol, type ToServer } from './index.js';

interface Chat {
  toServer: { say: { text: string }; nick: { name: string }; leave: Record<never, never> };
  toClient: { said: { from: number; text: string }; renamed: { client: number; name: string } };
}

/** Compiles only when `A` and `B` are the same type. */
type Same<A, B> = (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false;
const same = <A, B>(proof: Same<A, B>): Same<A, B> => proof;
/** `is<B>()(value, true)` compiles only when `value`'s type is `B`. */
const is = <B>() => <A>(_value: A, proof: Same<A, B>): Same<A, B> => proof;

// A message is its type plus its fields, one object type (not an intersection).
same<Message<Chat['toServer'], 'say'>, { type: 'say'; text: string }>(true);
same<ToServer<Chat>, { type: 'say'; text: string } | { type: 'nick'; name: string } | { type: 'leave' }>(true);
same<Incoming<Chat>['type'], 'said' | 'renamed' | 'error'>(true);

// A protocol may be declared with interfaces; `error` is the server's rejection, not a type of one's own.
interface ToServerMap { ping: { at: number } }
interface WithInterfaces { toServer: ToServerMap; toClient: { pong: { at: number } } }
const _interfacesAreProtocols: Protocol = null as unknown as WithInterfaces;
// @ts-expect-error -- `error` is taken by the Rejection
const _errorIsTaken: Protocol = null as unknown as { toServer: object; toClient: { error: { why: string } } };

// ---- the server ---------------------------------------------------------------------------

export class ChatRoom implements Service {
  names = new Map<ClientId, string>();
  message = route<Chat>({
    say: (client, message, ctx) => {
      same<typeof message, { type: 'say'; text: string }>(true);
      ctx.broadcast({ type: 'said', from: client, text: message.text });
      // @ts-expect-error -- `said` has no `name`
      ctx.broadcast({ type: 'said', from: client, text: 'x', name: 'y' });
      // @ts-expect-error -- `from` is a number
      ctx.send(client, { type: 'said', from: 'me', text: 'x' });
      // @ts-expect-error -- `told` is not a message the room sends
      ctx.send({ except: client }, { type: 'told', text: 'x' });
      // @ts-expect-error -- `say` goes to the server, not to clients
      ctx.send(client, { type: 'say', text: 'x' });
      // @ts-expect-error -- `say` has no `name`
      void message.name;
    },
    nick: (client, { name }, ctx) => {
      this.names.set(client, name); // `this` is the room's service, as in any arrow in a class field
      ctx.send('broadcast', { type: 'renamed', client, name });
    },
    leave: (client, _message, ctx) => ctx.close(client),
  });

  connect(client: ClientId, ctx: Context): void {
    typed<Chat>(ctx).send(client, { type: 'said', from: 0, text: 'welcome' });
    // @ts-expect-error -- `text` is missing
    typed<Chat>(ctx).send(client, { type: 'said', from: 0 });
  }
}

// Every type needs a handler, and only the protocol's types have one.
// @ts-expect-error -- no handler for `leave`
route<Chat>({ say: () => {}, nick: () => {} });
// @ts-expect-error -- `shout` is not a message clients send
route<Chat>({ say: () => {}, nick: () => {}, leave: () => {}, shout: () => {} });
// A handler's message is the one of its own type.
// @ts-expect-error -- the `nick` handler gets a `nick` message, which has no `text`
route<Chat>({ say: () => {}, nick: (_client, message: { type: 'nick'; text: string }) => void message, leave: () => {} });

// ---- the client ---------------------------------------------------------------------------

export function chatClient(client: Client): void {
  const chat = jsonClient<Chat>(client);
  chat.send({ type: 'say', text: 'hello' });
  chat.send({ type: 'leave' });
  // @ts-expect-error -- `say` needs `text`
  chat.send({ type: 'say' });
  // @ts-expect-error -- `text` is a string
  chat.send({ type: 'say', text: 1 });
  // @ts-expect-error -- `said` is the server's
  chat.send({ type: 'said', from: 1, text: 'x' });
  chat.on('said', (message) => is<{ type: 'said'; from: number; text: string }>()(message, true));
  chat.on('error', ({ error }) => is<'binary' | 'not-json' | 'not-object' | 'no-type' | 'unknown-type'>()(error, true));
  // @ts-expect-error -- `say` is not something the room sends
  chat.on('say', () => {});
  chat.onMessage((message) => {
    if (message.type === 'renamed') same<typeof message.name, string>(true);
    // @ts-expect-error -- not every message has `text`
    void message.text;
  });
}

test('the type tests above are compiled by npm run typecheck; the values they describe are plain JSON', () => {
  const said: Incoming<Chat> = { type: 'said', from: 1, text: 'hi' };
  assert.deepEqual(JSON.parse(JSON.stringify(said)), said);
  assert.equal(typeof route<Chat>({ say: () => {}, nick: () => {}, leave: () => {} }), 'function');
});

test('route() refuses a handler that is not a function, naming its type', () => {
  assert.throws(() => route<Chat>({ say: () => {}, nick: 'nope' as never, leave: () => {} }), {
    name: 'TypeError',
    message: 'stateroom/json route(): the handler for "nick" is a string, not a function',
  });
});
