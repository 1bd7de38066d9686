// Metrics an attacker cannot inflate or read (issue 12, item 8): close codes a client picks
// fall into one `other` series, closes the server starts count by the code it sent, /metrics
// can sit behind a bearer token or on a port of its own, and scraping is cached.
import assert from 'node:assert/strict';
import { test, type TestContext } from 'node:test';
import { serve, type ClientId, type Context, type Payload, type ServerOptions } from '../src/index.js';
import { within } from './helpers/deadline.js';
import { MemoryLogger } from './helpers/logs.js';
import { client, closed, open } from './helpers/sockets.js';

const Echo = (_id: string, ctx: Context) => ({ message: (c: ClientId, p: Payload) => ctx.sendMessage(c, p) });

async function start(t: TestContext, options: ServerOptions = {}) {
  const server = await serve(Echo, { port: 0, host: '127.0.0.1', logger: new MemoryLogger(), ...options });
  t.after(() => server.close());
  return server;
}

const get = (url: string, headers: Record<string, string> = {}) => fetch(url, { headers, signal: AbortSignal.timeout(3_000) });

async function noClients(server: { clientCount: number }): Promise<void> {
  await within(
    (async () => {
      while (server.clientCount > 0) await new Promise((r) => setTimeout(r, 10));
    })(),
    'every close to be seen by the server',
  );
}

test('close codes a client chooses are one `other` series; closes the server starts count by the code it sent', async (t) => {
  const server = await start(t, { maxPayloadBytes: 1024 });
  for (let i = 0; i < 60; i++) {
    const ws = await open(`ws://127.0.0.1:${server.port}/ws/codes`);
    const done = closed(ws);
    ws.close(3000 + i * 17, 'mine');
    await done;
  }
  // The server closes this one (1009) for a message over the limit; the client answers with whatever it likes.
  const big = await open(`ws://127.0.0.1:${server.port}/ws/codes`);
  const shut = closed(big);
  big.send('x'.repeat(2048));
  assert.equal((await shut).code, 1009);
  await noClients(server);
  const text = await (await get(`http://127.0.0.1:${server.port}/metrics`)).text();
  const series = text.split('\n').filter((line) => line.startsWith('stateroom_closes_total{'));
  assert.deepEqual(series.sort(), ['stateroom_closes_total{code="1009"} 1', 'stateroom_closes_total{code="other"} 60']);
});

test('/metrics behind a bearer token: 401 without it or with another, 200 with it', async (t) => {
  const token = 'a-secret-of-enough-length';
  const server = await start(t, { metricsToken: token });
  const url = `http://127.0.0.1:${server.port}/metrics`;
  const bare = await get(url);
  assert.equal(bare.status, 401);
  assert.equal(bare.headers.get('www-authenticate'), 'Bearer');
  assert.equal((await get(url, { authorization: 'Bearer not-the-secret-at-all!' })).status, 401);
  const ok = await get(url, { authorization: `Bearer ${token}` });
  assert.equal(ok.status, 200);
  assert.match(await ok.text(), /^stateroom_rooms /m);
  assert.equal(await (await get(`http://127.0.0.1:${server.port}/status`)).text(), 'ok', '/status is not behind the token');
});

test('/metrics on a port of its own: the main port answers it 404', async (t) => {
  const server = await start(t, { metricsPort: 0, metricsHost: '127.0.0.1' });
  assert.ok(server.metricsPort !== undefined && server.metricsPort !== server.port);
  assert.equal((await get(`http://127.0.0.1:${server.port}/metrics`)).status, 404);
  const own = await get(`http://127.0.0.1:${server.metricsPort}/metrics`);
  assert.equal(own.status, 200);
  assert.match(await own.text(), /^stateroom_connections /m);
  assert.equal((await get(`http://127.0.0.1:${server.metricsPort}/status`)).status, 404, 'the metrics port serves /metrics only');
});

test('scrapes within a second share one rendering: a flood of scrapes costs the server one', async (t) => {
  const server = await start(t);
  const url = `http://127.0.0.1:${server.port}/metrics`;
  const c = await client(`ws://127.0.0.1:${server.port}/ws/m`);
  t.after(() => c.ws.terminate());
  const started = performance.now();
  const seen = new Set<string>();
  // Messages keep arriving while scrapes flood in: a fresh rendering would show a new count each time.
  for (let round = 0; round < 20; round++) {
    c.ws.send('counted');
    await c.next();
    const bodies = await Promise.all(Array.from({ length: 10 }, async () => (await get(url)).text()));
    for (const body of bodies) seen.add(/^stateroom_messages_in_total (\d+)$/m.exec(body)?.[1] ?? '?');
  }
  const seconds = (performance.now() - started) / 1000;
  assert.ok(seen.size <= Math.ceil(seconds) + 1, `${seen.size} renderings for 200 scrapes in ${seconds.toFixed(2)} s`);
});
