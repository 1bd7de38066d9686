// The server's side of `stateroom.exact`: the seat frame a client that offers it gets first,
// what the seat counts as received, and that nobody else ever sees the frame.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { test, type TestContext } from 'node:test';
import { WebSocket } from 'ws';
import { serve, type ClientId, type Context, type Payload, type ServerOptions, type ServiceSource } from '../src/index.js';
import { within } from './helpers/deadline.js';
import { DEADLINE_MS, Inbox } from './helpers/sockets.js';

const OLD = ['stateroom.fresh', 'stateroom.resumed'];
const NEW = ['stateroom.fresh', 'stateroom.exact', 'stateroom.resumed'];

/** Records each client message ("<client> <payload>"); "who" answers the client id, "send <n>" broadcasts n numbered messages. */
function recording() {
  const heard: string[] = [];
  const waiters: Array<() => void> = [];
  let sent = 0;
  const service: ServiceSource = (_roomId: string, ctx: Context) => ({
    message: (c: ClientId, p: Payload) => {
      const count = /^send (\d+)$/.exec(String(p));
      if (count) for (let i = 0; i < Number(count[1]); i++) ctx.sendMessage('broadcast', `m${++sent}`);
      else if (p === 'who') ctx.sendMessage(c, `you are ${c}`);
      heard.push(`${c} ${String(p)}`);
      for (const wake of waiters.splice(0)) wake();
    },
  });
  /** Resolves once the service has heard `count` messages. */
  const heardAll = (count: number): Promise<string[]> =>
    within(
      new Promise<string[]>((resolve) => {
        const check = (): void => (heard.length >= count ? resolve(heard.slice()) : void waiters.push(check));
        check();
      }),
      `the service to hear ${count} messages (it heard: ${heard.join(', ')})`,
    );
  return { heard, service, heardAll };
}

async function start(t: TestContext, service: ServiceSource, options: ServerOptions = {}) {
  const server = await serve(service, { port: 0, host: '127.0.0.1', logLevel: 'silent', ...options });
  t.after(() => server.close());
  return (query: string) => `ws://127.0.0.1:${server.port}/ws/r?${query}`;
}

/** Opens a socket offering `protocols`, recording from its first frame on. */
async function open(t: TestContext, url: string, protocols?: string[]): Promise<Inbox> {
  const ws = new WebSocket(url, protocols);
  const inbox = new Inbox(ws);
  t.after(() => ws.terminate());
  await once(ws, 'open', { signal: AbortSignal.timeout(DEADLINE_MS) });
  return inbox;
}

/** Cuts `inbox`'s socket (no close frame) and waits until it is closed. */
async function cut(inbox: Inbox): Promise<void> {
  const gone = once(inbox.ws, 'close', { signal: AbortSignal.timeout(DEADLINE_MS) });
  inbox.ws.terminate();
  await gone;
}

test('a client offering stateroom.exact gets the seat frame first: fresh with 0, then resumed with how many of its messages the seat has', async (t) => {
  const { service, heardAll } = recording();
  const url = await start(t, service);
  const watcher = await open(t, url('token=w'));
  const a = await open(t, url('token=a'), NEW);
  assert.equal(a.ws.protocol, 'stateroom.exact', 'picked wherever it is offered');
  assert.equal(await a.nextText(), '{"seat":"fresh","received":0}');
  for (const m of ['x', 'y', 'z']) a.ws.send(m);
  await heardAll(3);
  await cut(a);
  watcher.ws.send('send 2'); // m1, m2 while a is away
  await heardAll(4);
  const back = await open(t, url('token=a&received=0'), NEW);
  assert.deepEqual(await back.texts(3), ['{"seat":"resumed","received":3}', 'm1', 'm2'], 'the frame, then what it missed');
  back.ws.send('who');
  assert.equal((await back.texts(4))[3], 'you are 2');
});

test('a plain client, and one offering only the old subprotocols, never see a seat frame, new seat or resumed', async (t) => {
  const { service } = recording();
  const url = await start(t, service);
  const watcher = await open(t, url('token=w'));
  for (const [name, protocols, picked] of [['plain', undefined, ''], ['old', OLD, 'stateroom.fresh']] as const) {
    const c = await open(t, url(`token=${name}`), protocols && [...protocols]);
    assert.equal(c.ws.protocol, picked, `${name}: the subprotocol of today`);
    c.ws.send('who');
    assert.match(await c.nextText(), /^you are \d+$/, `${name}: the first frame is the service's`);
    await cut(c);
    watcher.ws.send('send 1');
    await watcher.next();
    const back = await open(t, url(`token=${name}&received=1`), protocols && [...protocols]);
    assert.equal(back.ws.protocol, protocols ? 'stateroom.resumed' : '', `${name} resumed`);
    assert.match(await back.nextText(), /^m\d+$/, `${name}: the first frame after a resume is the missed message`);
  }
});

test('messages dropped over the rate limit count as received: they arrived, and an exact client does not send them again', async (t) => {
  const { service, heardAll } = recording();
  const url = await start(t, service, { messageRateLimit: 2 });
  const first = await open(t, url('token=a'), NEW);
  assert.equal(await first.nextText(), '{"seat":"fresh","received":0}');
  for (const m of ['1', '2', '3', '4', '5']) first.ws.send(m); // a burst of 5: 2 pass, 3 are dropped
  // A close handshake, not a cut: the server has read all five once the close is answered.
  const gone = once(first.ws, 'close', { signal: AbortSignal.timeout(DEADLINE_MS) });
  first.ws.close();
  await gone;
  assert.deepEqual(await heardAll(2), ['1 1', '1 2'], 'the service saw only what passed');
  const back = await open(t, url('token=a&received=0'), NEW);
  assert.equal(await back.nextText(), '{"seat":"resumed","received":5}');
});
