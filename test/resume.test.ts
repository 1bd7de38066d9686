// Seats that outlive a socket: ?token= identity, replacement, and lossless resume.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { test, type TestContext } from 'node:test';
import { WebSocket } from 'ws';
import { serve, type ClientId, type Context, type Payload, type ServerOptions, type ServiceSource } from '../src/index.js';
import { within } from './helpers/deadline.js';
import { MemoryLogger } from './helpers/logs.js';
import { DEADLINE_MS, Inbox, closed } from './helpers/sockets.js';

const PROTOCOLS = ['stateroom.fresh', 'stateroom.resumed'];

/** A service that records its events and, on "send <n>", sends n numbered messages to everyone. */
function recording() {
  const events: string[] = [];
  const waiting = new Map<string, () => void>();
  const record = (event: string): void => {
    events.push(event);
    waiting.get(event)?.();
  };
  /** Resolves once the service has seen `event`. */
  const until = (event: string): Promise<void> =>
    events.includes(event) ? Promise.resolve() : within(new Promise<void>((r) => waiting.set(event, r)), `the service to see ${event}`);
  let sent = 0;
  const service: ServiceSource = (_roomId: string, ctx: Context) => ({
    connect: (c: ClientId) => record(`connect ${c}`),
    disconnect: (c: ClientId) => record(`disconnect ${c}`),
    message: (c: ClientId, p: Payload) => {
      const count = /^send (\d+)$/.exec(String(p));
      if (count) for (let i = 0; i < Number(count[1]); i++) ctx.sendMessage('broadcast', `m${++sent}`);
      else ctx.sendMessage(c, `you are ${c}`);
    },
  });
  return { events, service, until };
}

async function start(t: TestContext, service: ServiceSource, options: ServerOptions = {}) {
  const logger = new MemoryLogger();
  const server = await serve(service, { port: 0, host: '127.0.0.1', logger, ...options });
  t.after(() => server.close());
  return { server, logger, url: (query: string) => `ws://127.0.0.1:${server.port}/ws/r?${query}` };
}

/** Opens a socket offering the resume subprotocols; records from the first frame on. */
async function connectAs(t: TestContext, url: string): Promise<Inbox> {
  const ws = new WebSocket(url, PROTOCOLS);
  const inbox = new Inbox(ws);
  t.after(() => ws.terminate());
  await once(ws, 'open', { signal: AbortSignal.timeout(DEADLINE_MS) });
  return inbox;
}

test('the same token in the same live room gets the same client id, even after its seat was given up', async (t) => {
  const { service, events } = recording();
  const { url } = await start(t, service, { resumeGraceMs: 0 });
  const a = await connectAs(t, url('token=alice'));
  a.ws.send('who');
  assert.equal(await a.nextText(), 'you are 1');
  const b = await connectAs(t, url('token=bob'));
  b.ws.send('who');
  assert.equal(await b.nextText(), 'you are 2');
  a.ws.close();
  await closed(a.ws).catch(() => {});
  const again = await connectAs(t, url('token=alice'));
  again.ws.send('who');
  assert.equal(await again.nextText(), 'you are 1');
  assert.equal(again.ws.protocol, 'stateroom.fresh');
  assert.deepEqual(events, ['connect 1', 'connect 2', 'disconnect 1', 'connect 1']);
});

test('a second socket with a token in use replaces the first, which is closed with 4001', async (t) => {
  const { service } = recording();
  const { url } = await start(t, service);
  const first = await connectAs(t, url('token=t1'));
  const replaced = closed(first.ws);
  const second = await connectAs(t, url('token=t1&received=0'));
  assert.deepEqual(await replaced, { code: 4001, reason: 'replaced by a newer connection with the same token' });
  assert.equal(second.ws.protocol, 'stateroom.resumed');
  second.ws.send('who');
  assert.equal(await second.nextText(), 'you are 1');
});

test('a client back within the grace period resumes: it gets what it missed, once, and the service sees nothing', async (t) => {
  const { service, events } = recording();
  const { url } = await start(t, service);
  const watcher = await connectAs(t, url('token=w'));
  const dropper = await connectAs(t, url('token=d'));
  watcher.ws.send('send 3');
  await dropper.texts(3);
  const gone = once(dropper.ws, 'close');
  dropper.ws.terminate();
  await gone;
  watcher.ws.send('send 4'); // m4..m7, while the dropper is away
  await watcher.texts(7);
  const back = await connectAs(t, url(`token=d&received=3`));
  assert.equal(back.ws.protocol, 'stateroom.resumed');
  assert.deepEqual(await back.texts(4), ['m4', 'm5', 'm6', 'm7']);
  watcher.ws.send('send 1');
  assert.deepEqual(await back.texts(5), ['m4', 'm5', 'm6', 'm7', 'm8'], 'no duplicates, nothing lost');
  assert.deepEqual(events, ['connect 1', 'connect 2'], 'the service never saw the drop');
});

test('a client that closes on purpose (1000, or 1001 as a page going away) gives up its seat at once: its disconnect does not wait for the grace period', async (t) => {
  const { service, events, until } = recording();
  // A grace period far longer than the test's deadline: a held seat would time it out.
  const { url } = await start(t, service, { resumeGraceMs: 60_000 });
  for (const [code, client] of [[1000, 1], [1001, 2]] as const) {
    const leaver = await connectAs(t, url(`token=leaver-${code}`));
    await until(`connect ${client}`);
    leaver.ws.close(code);
    await until(`disconnect ${client}`);
  }
  // A drop (no close frame) is still held for a resume.
  const dropper = await connectAs(t, url('token=dropper'));
  await until('connect 3');
  const gone = once(dropper.ws, 'close');
  dropper.ws.terminate();
  await gone;
  const back = await connectAs(t, url('token=dropper&received=0'));
  assert.equal(back.ws.protocol, 'stateroom.resumed');
  assert.deepEqual(events, ['connect 1', 'disconnect 1', 'connect 2', 'disconnect 2', 'connect 3']);
});

test('past the grace period the seat is given up; the client comes back to a fresh seat and knows it', async (t) => {
  const { service, events, until } = recording();
  const { url } = await start(t, service, { resumeGraceMs: 100 });
  const a = await connectAs(t, url('token=late'));
  a.ws.terminate();
  await until('disconnect 1'); // the seat is given up once 100 ms have passed
  const back = await connectAs(t, url('token=late&received=0'));
  assert.equal(back.ws.protocol, 'stateroom.fresh', 'told that this is a new seat');
  assert.deepEqual(events, ['connect 1', 'disconnect 1', 'connect 1']);
});

test('when the kept tail no longer reaches back far enough, the client gets a fresh seat', async (t) => {
  const { service, events } = recording();
  const { url } = await start(t, service, { resumeBufferBytes: 8 }); // two messages of 2-3 chars
  const watcher = await connectAs(t, url('token=w'));
  const a = await connectAs(t, url('token=a'));
  const gone = once(a.ws, 'close');
  a.ws.terminate();
  await gone;
  watcher.ws.send('send 5');
  await watcher.texts(5);
  const back = await connectAs(t, url('token=a&received=0'));
  assert.equal(back.ws.protocol, 'stateroom.fresh');
  assert.deepEqual(events, ['connect 1', 'connect 2', 'disconnect 2', 'connect 2']);
});

test('connections dropped at random points under traffic lose nothing and repeat nothing', async (t) => {
  const total = 400;
  let sent = 0;
  const service: ServiceSource = (_roomId: string, ctx: Context) => ({
    // A steady stream, from a timer: sends happen whatever the clients are doing.
    init: () => ctx.setTimer(1),
    timer: () => {
      for (let i = 0; i < 5 && sent < total; i++) ctx.sendMessage('broadcast', `m${++sent}`);
      if (sent < total) ctx.setTimer(1);
    },
  });
  const { url } = await start(t, service);
  // A seeded generator, so a failure can be replayed.
  let seed = 12345;
  const random = (): number => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);

  const runClient = async (name: string): Promise<{ got: string[]; drops: number }> => {
    const got: string[] = [];
    let drops = 0;
    let first = true;
    while (got.at(-1) !== `m${total}`) {
      const ws = new WebSocket(url(`token=${name}${first ? '' : `&received=${got.length}`}`), PROTOCOLS);
      t.after(() => ws.terminate());
      const dropAfter = got.length + 10 + Math.floor(random() * 60);
      await within(
        new Promise<void>((resolve, reject) => {
          ws.on('open', () => {
            if (!first) assert.equal(ws.protocol, 'stateroom.resumed', `${name} resumed`);
            first = false;
          });
          ws.on('message', (data) => {
            got.push((data as Buffer).toString('utf8'));
            if (got.length >= dropAfter && got.at(-1) !== `m${total}`) {
              drops += 1;
              ws.terminate(); // an abrupt drop: no close frame
            }
            if (got.at(-1) === `m${total}`) resolve();
          });
          ws.on('close', () => resolve());
          ws.on('error', reject);
        }),
        `${name} to receive up to m${total}`,
        15_000,
      );
    }
    return { got, drops };
  };
  const results = await Promise.all(['a', 'b', 'c'].map((name) => runClient(name)));
  for (const { got, drops } of results) {
    assert.ok(drops >= 3, `dropped ${drops} times`);
    const first = Number(got[0]!.slice(1));
    assert.deepEqual(got, Array.from({ length: total - first + 1 }, (_, i) => `m${first + i}`), 'contiguous, no gap, no repeat');
  }
});

test('taking over the only seat in a room does not leave the room to be disposed under the new socket', async (t) => {
  const { service, events } = recording();
  const { url, server } = await start(t, service, { resumeGraceMs: 0, roomIdleMs: 50 });
  const first = await connectAs(t, url('token=solo'));
  const replaced = closed(first.ws);
  const second = await connectAs(t, url('token=solo'));
  await replaced;
  await new Promise((r) => setTimeout(r, 150)); // three idle periods: a wrongly started idle timer would have fired
  assert.equal(server.roomCount, 1, 'the room is still there');
  second.ws.send('who');
  assert.equal(await second.nextText(), 'you are 1');
  assert.deepEqual(events, ['connect 1', 'disconnect 1', 'connect 1']);
});
