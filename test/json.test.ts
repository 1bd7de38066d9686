// stateroom/json over real sockets: a service made with route() and typed(), clients made with
// jsonClient() over stateroom/client (Node entry), and raw ws sockets sending what no typed
// client would — each refused input gets that client one error message, calls no handler, and
// leaves the room working.
import assert from 'node:assert/strict';
import { test, type TestContext } from 'node:test';
import { connect } from '../src/client/node.js';
import { serve, type ClientId, type Context, type Service } from '../src/index.js';
import { jsonClient, route, typed, type Incoming, type JsonClient, type Rejection } from '../src/json/index.js';
import { within } from './helpers/deadline.js';
import { client as rawClient, type Inbox } from './helpers/sockets.js';

interface Chat {
  toServer: { say: { text: string }; whoami: Record<never, never> };
  toClient: { said: { from: number; text: string }; you: { id: number }; welcome: { room: string } };
}

/** What the service saw: handler calls and rejections, in order. */
interface Seen {
  readonly calls: string[];
  readonly rejections: Array<{ client: ClientId; error: string }>;
}

function chatService(seen: Seen): new (roomId: string, ctx: Context) => Service {
  return class ChatRoom implements Service {
    connect(client: ClientId, ctx: Context): void {
      typed<Chat>(ctx).send(client, { type: 'welcome', room: ctx.roomId });
      if (ctx.roomId === 'plain') ctx.sendMessage(client, 'plain text, not a typed message');
    }

    message = route<Chat>(
      {
        say: (client, { text }, ctx) => {
          seen.calls.push(`say ${client} ${text}`);
          ctx.broadcast({ type: 'said', from: client, text });
        },
        whoami: (client, _message, ctx) => {
          seen.calls.push(`whoami ${client}`);
          ctx.send(client, { type: 'you', id: client });
        },
      },
      { rejected: (client, { error }) => void seen.rejections.push({ client, error }) },
    );
  };
}

async function start(t: TestContext) {
  const seen: Seen = { calls: [], rejections: [] };
  const server = await serve(chatService(seen), { port: 0, host: '127.0.0.1', logLevel: 'silent' });
  t.after(() => server.close());
  return { seen, base: `ws://127.0.0.1:${server.port}` };
}

/** A typed client that records what it receives, closed when the test ends. */
function chatClient(t: TestContext, base: string, room: string) {
  const chat: JsonClient<Chat> = jsonClient<Chat>(connect(base, { room, minDelayMs: 10, maxDelayMs: 50 }));
  t.after(() => chat.client.close());
  const received: Array<Incoming<Chat>> = [];
  const untyped: unknown[] = [];
  const waiters: Array<() => void> = [];
  chat.onMessage((message) => {
    received.push(message);
    for (const wake of waiters.splice(0)) wake();
  });
  chat.onUntyped((data) => {
    untyped.push(data);
    for (const wake of waiters.splice(0)) wake();
  });
  const until = (done: () => boolean, what: string): Promise<void> =>
    within(new Promise<void>((resolve) => {
      const check = (): void => (done() ? resolve() : void waiters.push(check));
      check();
    }), `${what} (received: ${JSON.stringify(received)})`);
  return { chat, received, untyped, until };
}

test('typed messages round-trip: a handler per type, typed broadcast and send, typed listeners on the client', async (t) => {
  const { seen, base } = await start(t);
  const alice = chatClient(t, base, 'lobby');
  const bob = chatClient(t, base, 'lobby');
  const saidToBob: string[] = [];
  bob.chat.on('said', ({ from, text }) => saidToBob.push(`${from}: ${text}`));
  await alice.until(() => alice.received.length >= 1, 'alice to be welcomed');
  await bob.until(() => bob.received.length >= 1, 'bob to be welcomed');
  assert.deepEqual(alice.received[0], { type: 'welcome', room: 'lobby' }, 'typed() sends from connect');

  alice.chat.send({ type: 'whoami' });
  alice.chat.send({ type: 'say', text: 'hello' });
  await bob.until(() => saidToBob.length >= 1, "alice's message at bob");
  await alice.until(() => alice.received.length >= 3, 'alice to get her answers');
  const aliceId = (alice.received[1] as { id: number }).id;
  assert.deepEqual(alice.received.slice(1), [{ type: 'you', id: aliceId }, { type: 'said', from: aliceId, text: 'hello' }]);
  assert.deepEqual(saidToBob, [`${aliceId}: hello`]);
  assert.deepEqual(seen.calls, [`whoami ${aliceId}`, `say ${aliceId} hello`]);
  assert.deepEqual(seen.rejections, []);
});

test('jsonClient.detach(): a wrapper stops hearing the client, which goes on for everyone else', async (t) => {
  const { base } = await start(t);
  const alice = chatClient(t, base, 'detach');
  const bob = chatClient(t, base, 'detach');
  const extra = jsonClient<Chat>(bob.chat.client);
  const heardByExtra: string[] = [];
  extra.on('said', ({ text }) => heardByExtra.push(text));
  await bob.until(() => bob.received.length >= 1, 'bob to be welcomed');
  extra.detach();
  alice.chat.send({ type: 'say', text: 'after the detach' });
  await bob.until(() => bob.received.some((m) => m.type === 'said'), "alice's message at bob's own wrapper");
  assert.deepEqual(heardByExtra, [], 'the detached wrapper heard nothing');
});

/** Sends `frame` on a raw socket and returns the rejection it is answered with. */
async function rejectionOf(inbox: Inbox, frame: string | Buffer): Promise<Rejection> {
  inbox.ws.send(frame);
  return JSON.parse(await inbox.nextText()) as Rejection;
}

test('malformed input gets that client one error, calls no handler, and the room goes on', async (t) => {
  const { seen, base } = await start(t);
  const bad = await rawClient(`${base}/ws/lobby`, 'bad');
  t.after(() => bad.ws.terminate());
  const watcher = chatClient(t, base, 'lobby');
  assert.deepEqual(JSON.parse(await bad.nextText()), { type: 'welcome', room: 'lobby' });
  await watcher.until(() => watcher.received.length >= 1, 'the watcher to be welcomed');

  const takes = '(this room takes: say, whoami)';
  const cases: Array<[frame: string | Buffer, error: Rejection['error'], message: string | RegExp]> = [
    ['not json', 'not-json', /^the message is not JSON \(.+\)$/],
    ['{"type":"say"', 'not-json', /^the message is not JSON \(.+\)$/],
    ['[1,2]', 'not-object', 'a message is a JSON object with a "type", not an array'],
    ['null', 'not-object', 'a message is a JSON object with a "type", not null'],
    ['"say"', 'not-object', 'a message is a JSON object with a "type", not a string'],
    ['{"text":"hi"}', 'no-type', `the message has no string "type" ${takes}`],
    ['{"type":5}', 'no-type', `the message has no string "type" ${takes}`],
    ['{"type":"shout"}', 'unknown-type', `unknown message type "shout" ${takes}`],
    ['{"type":"toString"}', 'unknown-type', `unknown message type "toString" ${takes}`],
    ['{"type":"__proto__"}', 'unknown-type', `unknown message type "__proto__" ${takes}`],
    ['{"type":"constructor"}', 'unknown-type', `unknown message type "constructor" ${takes}`],
    [JSON.stringify({ type: 'x'.repeat(10_000) }), 'unknown-type', `unknown message type "${'x'.repeat(64)}…" ${takes}`],
    [Buffer.from('{"type":"say","text":"bytes"}'), 'binary', `binary frames are not taken here: send a JSON object with a "type" ${takes}`],
  ];
  for (const [frame, error, message] of cases) {
    const rejection = await rejectionOf(bad, frame);
    assert.deepEqual(Object.keys(rejection), ['type', 'error', 'message'], String(frame));
    assert.equal(rejection.type, 'error');
    assert.equal(rejection.error, error, String(frame));
    if (typeof message === 'string') assert.equal(rejection.message, message);
    else assert.match(rejection.message, message);
    assert.ok(rejection.message.length < 300, 'an answer is bounded, whatever the input');
  }
  assert.deepEqual(seen.calls, [], 'no handler ran');
  assert.equal(seen.rejections.length, cases.length, 'the rejected hook saw each one');

  // The room still works, for the same client and for the others; they saw none of it.
  bad.ws.send('{"type":"say","text":"fine now"}');
  const said = JSON.parse(await bad.nextText()) as { type: string; from: number; text: string };
  assert.equal(said.type, 'said');
  assert.equal(said.text, 'fine now');
  await watcher.until(() => watcher.received.length >= 2, 'the watcher to see the good message');
  assert.deepEqual(watcher.received.map((m) => m.type), ['welcome', 'said'], 'the other client got no error');
  assert.deepEqual(seen.calls, [`say ${said.from} fine now`]);
});

test("jsonClient: a rejection reaches on('error'), a frame that is not a typed message reaches onUntyped only", async (t) => {
  const { base } = await start(t);
  const c = chatClient(t, base, 'plain');
  const errors: Rejection[] = [];
  c.chat.on('error', (rejection) => errors.push(rejection));
  await c.until(() => c.received.length >= 1 && c.untyped.length >= 1, 'the welcome and the plain text');
  assert.deepEqual(c.untyped, ['plain text, not a typed message']);

  // What a typed client cannot send by mistake, an untyped cast can: the room says why.
  c.chat.send({ type: 'shout' } as unknown as { type: 'whoami' });
  await c.until(() => errors.length >= 1, 'the rejection');
  assert.deepEqual(errors, [{ type: 'error', error: 'unknown-type', message: 'unknown message type "shout" (this room takes: say, whoami)' }]);
  assert.deepEqual(c.received.map((m) => m.type), ['welcome', 'error'], 'onMessage gets rejections too');
});
