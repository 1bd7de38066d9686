// Tokens are secrets (issue 12, item 10): with authorize returning { user }, a token is bound
// to the user it was authorised for, so a stolen token alone takes no seat and replays nothing.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { randomToken } from '../src/client/url.js';
import { serve, type ClientId, type Context, type Payload, type Service } from '../src/index.js';
import { bindToken } from '../src/transport/authorize-verdict.js';
import { MemoryLogger } from './helpers/logs.js';
import { client, closed } from './helpers/sockets.js';

/** Tells each client its id, and echoes what it says with its id: whose seat is whose. */
const whoSaid = (_id: string, ctx: Context): Service => ({
  connect: (c: ClientId) => ctx.sendMessage(c, `you are ${c}`),
  message: (c: ClientId, p: Payload) => ctx.sendMessage(c, `${c} said ${String(p)}`),
});

test('a token bound to its user: another user presenting it gets a fresh seat; the owner keeps hers and resumes', async (t) => {
  const server = await serve(
    whoSaid,
    {
      port: 0,
      host: '127.0.0.1',
      logger: new MemoryLogger(),
      // The user would come from a session cookie; a query parameter stands in for it here.
      authorize: (request) => ({ user: new URL(request.url ?? '/', 'http://x').searchParams.get('user') ?? 'anonymous' }),
    },
  );
  t.after(() => server.close());
  const url = (user: string, extra = '') => `ws://127.0.0.1:${server.port}/ws/bound?user=${user}&token=stolen-token${extra}`;
  const alice = await client(url('alice'), 'alice');
  t.after(() => alice.ws.terminate());
  assert.equal(await alice.nextText(), 'you are 1');
  alice.ws.send('my secret');
  assert.equal(await alice.nextText(), '1 said my secret');
  // Mallory has Alice's token, but not her session: a seat of her own, and nothing of Alice's.
  const aliceClosed = closed(alice.ws, 1_000).then(() => 'closed', () => 'open');
  const mallory = await client(url('mallory', '&received=0'), 'mallory');
  t.after(() => mallory.ws.terminate());
  assert.equal(await mallory.nextText(), 'you are 2');
  assert.equal(await aliceClosed, 'open', 'Alice was not replaced (no 4001)');
  assert.equal(mallory.messages.length, 1, 'no replay of Alice\'s messages');
  // Alice, dropped, comes back with her token and her session: her seat, resumed.
  alice.ws.terminate();
  const again = await client(url('alice', '&received=2'), 'alice again');
  t.after(() => again.ws.terminate());
  again.ws.send('back');
  assert.equal(await again.nextText(), '1 said back', 'the same client id: her own seat');
});

test('a token bound to a user object: the same user (its keys in any order) resumes its seat, another user gets a fresh one', async (t) => {
  const server = await serve(whoSaid, {
    port: 0,
    host: '127.0.0.1',
    logger: new MemoryLogger(),
    authorize: (request) => {
      const params = new URL(request.url ?? '/', 'http://x').searchParams;
      const id = params.get('user') ?? 'anonymous';
      return { user: params.has('reversed') ? { name: id.toUpperCase(), id } : { id, name: id.toUpperCase() } };
    },
  });
  t.after(() => server.close());
  const url = (query: string) => `ws://127.0.0.1:${server.port}/ws/objects?token=shared-token&${query}`;
  const alice = await client(url('user=alice'), 'alice');
  assert.equal(await alice.nextText(), 'you are 1');
  alice.ws.terminate();
  const mallory = await client(url('user=mallory&received=0'), 'mallory');
  t.after(() => mallory.ws.terminate());
  assert.equal(await mallory.nextText(), 'you are 2', 'another user object: a seat of its own');
  const again = await client(url('user=alice&reversed&received=1'), 'alice again');
  t.after(() => again.ws.terminate());
  again.ws.send('back');
  assert.equal(await again.nextText(), '1 said back', 'the same user, keys in another order: her own seat, resumed');
});

test("a guest admitted without a user cannot present a user's bound token it computed", async (t) => {
  const server = await serve(
    whoSaid,
    {
      port: 0,
      host: '127.0.0.1',
      logger: new MemoryLogger(),
      // Signed-in users are bound; guests (no ?user=) are admitted as they are.
      authorize: (request) => {
        const user = new URL(request.url ?? '/', 'http://x').searchParams.get('user');
        return user === null ? true : { user };
      },
    },
  );
  t.after(() => server.close());
  const base = `ws://127.0.0.1:${server.port}/ws/mixed`;
  const alice = await client(`${base}?user=alice&token=T0KEN`, 'alice');
  assert.equal(await alice.nextText(), 'you are 1');
  alice.ws.send('secret');
  assert.equal(await alice.nextText(), '1 said secret');
  alice.ws.terminate();
  // Mallory knows Alice's token and name, so she can compute what the room keys Alice's seat by.
  const forged = encodeURIComponent(bindToken('alice', 'T0KEN'));
  const mallory = await client(`${base}?token=${forged}&received=0`, 'mallory');
  t.after(() => mallory.ws.terminate());
  assert.equal(await mallory.nextText(), 'you are 2', 'a fresh seat, not Alice\'s');
  assert.equal(mallory.messages.length, 1, 'no replay of Alice\'s messages');
});

test('the client makes tokens with the platform cryptographic generator, and refuses to without one', () => {
  const saved = Object.getOwnPropertyDescriptor(globalThis, 'crypto')!;
  let calls = 0;
  const real = globalThis.crypto;
  Object.defineProperty(globalThis, 'crypto', {
    configurable: true,
    value: { getRandomValues: <T extends Uint8Array>(bytes: T): T => { calls += 1; return real.getRandomValues(bytes); } },
  });
  try {
    assert.match(randomToken(), /^[0-9a-f]{32}$/);
    assert.equal(calls, 1);
    Object.defineProperty(globalThis, 'crypto', { configurable: true, value: undefined });
    assert.throws(() => randomToken(), /no crypto\.getRandomValues/);
  } finally {
    Object.defineProperty(globalThis, 'crypto', saved);
  }
});
