// Bounded resources and access: room/client limits, message size, slow clients, Origin, authorize.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import net from 'node:net';
import { test, type TestContext } from 'node:test';
import { WebSocket } from 'ws';
import { serve, type ClientId, type Context, type Payload, type ServerOptions, type ServiceSource } from '../src/index.js';
import { until, within } from './helpers/deadline.js';
import { MemoryLogger } from './helpers/logs.js';
import { client, closed, open, refusal } from './helpers/sockets.js';

async function start(t: TestContext, service: ServiceSource, options: ServerOptions = {}) {
  const logger = new MemoryLogger();
  const server = await serve(service, { port: 0, host: '127.0.0.1', logger, ...options });
  t.after(() => server.close());
  return { server, logger, url: (path: string) => `ws://127.0.0.1:${server.port}${path}` };
}

const Silent: ServiceSource = () => ({});

test('a room at its client limit refuses another client with 503; a resuming client still gets in', async (t) => {
  const { url } = await start(t, Silent, { maxClientsPerRoom: 2 });
  const a = await open(url('/ws/full?token=a'));
  const b = await open(url('/ws/full'));
  t.after(() => [a, b].forEach((s) => s.terminate()));
  assert.equal(await refusal(url('/ws/full')), '503 room "full" holds its limit of 2 clients; try again later');
  const again = await open(url('/ws/full?token=a&received=0'));
  t.after(() => again.terminate());
  const other = await open(url('/ws/other'));
  other.terminate();
});

test('a server at its room limit refuses a new room with 503, and takes clients for existing rooms', async (t) => {
  const { url } = await start(t, Silent, { maxRooms: 1 });
  const a = await open(url('/ws/one'));
  t.after(() => a.terminate());
  assert.equal(await refusal(url('/ws/two')), '503 the server holds its limit of 1 rooms; try again later');
  const b = await open(url('/ws/one'));
  b.terminate();
});

test('a message over the size limit closes its sender with 1009; others go on', async (t) => {
  const { url } = await start(t, (_id: string, ctx: Context) => ({ message: (c: ClientId, p: Payload) => ctx.sendMessage(c, p) }), {
    maxPayloadBytes: 1024,
  });
  const big = await open(url('/ws/size'));
  const fine = await client(url('/ws/size'));
  t.after(() => fine.ws.terminate());
  const shut = closed(big);
  big.send('x'.repeat(2048));
  assert.equal((await shut).code, 1009);
  fine.ws.send('y'.repeat(1024));
  assert.equal((await fine.nextText()).length, 1024);
});

test('a client that stops reading is closed with 1013 while the others keep receiving; memory stays bounded', async (t) => {
  const disconnected: ClientId[] = [];
  const chunk = 'z'.repeat(64 * 1024);
  const { url, logger } = await start(
    t,
    (_id: string, ctx: Context) => ({
      message: (_c: ClientId, p: Payload) => {
        const [, count] = /^flood (\d+)$/.exec(String(p)) ?? [];
        for (let i = 0; i < Number(count); i++) ctx.sendMessage('broadcast', chunk);
        ctx.sendMessage('broadcast', 'done');
      },
      disconnect: (c: ClientId) => void disconnected.push(c),
    }),
    { maxBufferedBytes: 1024 * 1024 },
  );
  const reader = await client(url('/ws/slow'), 'reader');
  const stalled = await open(url('/ws/slow'));
  t.after(() => [reader.ws, stalled].forEach((s) => s.terminate()));
  // Stop reading: the kernel buffers fill, then the server's outgoing buffer for this client.
  (stalled as unknown as { _socket: { pause(): void } })._socket.pause();
  const before = process.memoryUsage().rss;
  for (let round = 0; round < 8; round++) {
    reader.ws.send('flood 32'); // 2 MiB per round to each client
    await reader.texts((round + 1) * 33, 10_000);
  }
  await logger.waitFor((e) => /closed with 1013/.test(e.message), 'the slow client closed');
  assert.deepEqual(disconnected, [2], 'the room saw the slow client leave');
  const grown = process.memoryUsage().rss - before;
  assert.ok(grown < 64 * 1024 * 1024, `RSS grew by ${(grown / 2 ** 20).toFixed(1)} MiB for 16 MiB sent to a client that read none of it`);
});

test('--allowed-origin: browsers from other origins get 403; clients without an Origin are not affected', async (t) => {
  const { url } = await start(t, Silent, { allowedOrigins: ['https://good.example'] });
  assert.equal(await refusal(url('/ws/o'), { Origin: 'https://evil.example' }), '403 origin https://evil.example is not allowed');
  const good = await open(url('/ws/o'), { headers: { Origin: 'https://good.example' } });
  const plain = await open(url('/ws/o'));
  [good, plain].forEach((s) => s.terminate());
});

test('authorize runs before joining: refusals get their status and never reach the service', async (t) => {
  const connects: ClientId[] = [];
  const { url, logger } = await start(t, () => ({ connect: (c: ClientId) => void connects.push(c) }), {
    authorize: async (request, roomId) => {
      await new Promise((r) => setImmediate(r));
      const key = new URL(request.url ?? '/', 'http://x').searchParams.get('key');
      if (key === 'boom') throw new Error('auth backend down');
      if (key === 'old') return { status: 401, reason: 'key expired' };
      return key === `key-for-${roomId}`;
    },
  });
  assert.equal(await refusal(url('/ws/vault?key=wrong')), '403 forbidden');
  assert.equal(await refusal(url('/ws/vault?key=old')), '401 key expired');
  assert.equal(await refusal(url('/ws/vault?key=boom')), '500 authorization failed');
  await logger.waitFor((e) => /authorize threw for room "vault"/.test(e.message), 'the throw logged');
  // A client can make it throw on every attempt: the log is throttled, not a line per attempt.
  for (let i = 0; i < 20; i++) assert.equal(await refusal(url('/ws/vault?key=boom')), '500 authorization failed');
  const thrown = logger.entries.filter((e) => /authorize threw/.test(e.message)).length;
  assert.ok(thrown <= 2, `${thrown} log lines for 21 throws`);
  assert.deepEqual(connects, [], 'no refused client reached the service');
  const ok = await open(url('/ws/vault?key=key-for-vault'));
  t.after(() => ok.terminate());
  assert.deepEqual(connects, [1]);
});

test('query parameters that cannot be an identity are refused with 400', async (t) => {
  const { url } = await start(t, Silent);
  assert.match(await refusal(url('/ws/q?received=3')), /^400 received needs a token/);
  assert.match(await refusal(url('/ws/q?token=a&received=-1')), /^400 received must be a whole number/);
  assert.match(await refusal(url(`/ws/q?token=${'t'.repeat(300)}`)), /^400 token must be 1 to 256 characters/);
});

test('a client over its message rate has messages dropped (logged once), then is closed with 1008 if it persists', async (t) => {
  const got: string[] = [];
  let heardCalm!: () => void;
  const calmHeard = new Promise<void>((resolve) => (heardCalm = resolve));
  const { url, logger } = await start(
    t,
    () => ({
      message: (_c: ClientId, p: Payload) => {
        got.push(String(p));
        if (p === 'still heard') heardCalm();
      },
    }),
    {
      messageRateLimit: 20,
      rateLimitPersistMs: 300,
    },
  );
  const flooder = await open(url('/ws/flood'));
  const calm = await client(url('/ws/flood'));
  t.after(() => calm.ws.terminate());
  const shut = closed(flooder, 5_000);
  const flood = setInterval(() => {
    for (let i = 0; i < 20; i++) if (flooder.readyState === WebSocket.OPEN) flooder.send('spam');
  }, 20);
  t.after(() => clearInterval(flood));
  assert.deepEqual(await shut, { code: 1008, reason: 'rate limit exceeded' });
  clearInterval(flood);
  const warnings = logger.entries.filter((e) => /rate-limited/.test(e.message));
  assert.equal(warnings.length, 1, 'one log line for the whole flood');
  assert.ok(got.length >= 20 && got.length < 60, `${got.length} of the flood reached the service (about 20/s for ~0.3 s, plus the burst)`);
  calm.ws.send('still heard');
  await within(calmHeard, 'the calm client to be heard: other clients are not limited');
});

test('connection attempts over the per-IP limit get 429', async (t) => {
  const { url } = await start(t, Silent, { connectionRateLimit: 3 });
  for (let i = 0; i < 3; i++) (await open(url('/ws/c'))).terminate();
  assert.equal(await refusal(url('/ws/c')), '429 too many connection attempts from 127.0.0.1; try again in a minute');
});

test('close() during a slow authorize refuses that upgrade and still finishes', async (t) => {
  let entered!: () => void;
  const authorizing = new Promise<void>((resolve) => (entered = resolve));
  const { server, url } = await start(t, Silent, {
    authorize: async () => {
      entered();
      await new Promise((r) => setTimeout(r, 200));
      return true;
    },
  });
  const pending = refusal(url('/ws/late'));
  await within(authorizing, 'the authorize hook to start');
  await within(server.close(), 'close() to finish', 3_000);
  assert.equal(await pending, '503 the server is shutting down');
});

test('an upgrade waiting for a slow authorize stays pending: counted against the per-address cap, cut at the deadline with 408', async (t) => {
  let calls = 0;
  let release!: () => void;
  const hold = new Promise<void>((resolve) => (release = resolve));
  t.after(() => release());
  const { url, server } = await start(t, Silent, {
    headersTimeoutMs: 600,
    maxUnroutedPerAddress: 2,
    authorize: async () => {
      calls += 1;
      await hold;
      return true;
    },
  });
  const first = refusal(url('/ws/a'));
  const second = refusal(url('/ws/b'));
  await until(() => calls === 2, 'both upgrades to reach the authorize hook');
  // A third connection from the same address, while two wait for the hook: over the cap.
  const third = net.connect(server.port, '127.0.0.1');
  third.on('error', () => {});
  const answer: Buffer[] = [];
  third.on('data', (chunk: Buffer) => answer.push(chunk));
  await within(once(third, 'close'), 'the third connection to be closed at once');
  assert.equal(Buffer.concat(answer).length, 0, 'closed without an answer');
  assert.equal(calls, 2, 'the hook was not asked a third time');
  for (const held of [first, second]) assert.match(await within(held, 'the 408'), /^408 request timeout: .*admission/);
});

test("resumes that send a seat's kept tail again and again are refused with 429 once they have sent 4 tails in 10 s; up-to-date resumes never are", async (t) => {
  const echo: ServiceSource = () => ({ message: (_client: ClientId, payload: Payload, ctx: Context) => ctx.sendMessage('broadcast', payload) });
  const { url } = await start(t, echo, { resumeBufferBytes: 4096 });
  const sockets: WebSocket[] = [];
  t.after(() => sockets.forEach((ws) => ws.terminate()));
  const first = await client(url('/ws/r?token=looping'));
  sockets.push(first.ws);
  for (let i = 0; i < 3; i++) first.ws.send('m'.repeat(1000));
  await first.texts(3);
  // Up to date (received=3): nothing is sent again, however often.
  for (let i = 0; i < 20; i++) sockets.push(await open(url('/ws/r?token=looping&received=3')));
  // From the start: ~3 KiB sent again each time, against a budget of 4 × 4 KiB per 10 s.
  let resumed = 0;
  for (;;) {
    const answer = await refusal(url('/ws/r?token=looping&received=0')).catch((err: Error) => err.message);
    if (answer.startsWith('429')) {
      assert.equal(answer, '429 room "r": client 1 resumed from far back too often (16384 bytes sent again within 10 s); try again in a few seconds');
      break;
    }
    assert.match(answer, /was accepted$/);
    resumed += 1;
    assert.ok(resumed <= 6, `still resumed after ${resumed} full replays`);
  }
  assert.ok(resumed >= 5, `${resumed} full replays before the refusal`);
  sockets.push(await open(url('/ws/r?token=other&received=0')));
  sockets.push(await open(url('/ws/r?token=looping')));
});

test('a client piling messages up behind a slow service is closed with 1013, its seat given up (the service hears its disconnect); the room goes on', async (t) => {
  let handled = 0;
  const left: ClientId[] = [];
  const { url, logger } = await start(
    t,
    () => ({
      message: async () => {
        handled += 1;
        await new Promise((r) => setTimeout(r, 20)); // a slow service: 50 messages a second
      },
      disconnect: (client: ClientId) => {
        left.push(client);
      },
    }),
    { maxQueuedBytes: 256 * 1024, maxPayloadBytes: 64 * 1024 },
  );
  const flooder = await open(url('/ws/slow-room'));
  const shut = closed(flooder, 5_000);
  const chunk = 'q'.repeat(32 * 1024);
  for (let i = 0; i < 64; i++) flooder.send(chunk); // 2 MiB at once, 8× the limit
  assert.deepEqual(await shut, { code: 1013, reason: 'too many messages waiting for the room' });
  await logger.waitFor((e) => /too many of its messages wait/.test(e.message), 'the close logged');
  assert.ok(handled < 64, `the service was not made to work through the whole flood (${handled})`);
  // Not a ghost: a seat closed for its queue is given up like any client that left.
  await until(() => left.includes(1), 'the flooder\'s disconnect (client 1)', 10_000);
  const next = await open(url('/ws/slow-room'));
  next.terminate();
});
