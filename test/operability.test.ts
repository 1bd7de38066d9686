// /metrics (Prometheus text) and /status?format=json.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import SharedCounter from '../examples/counter/service.js';
import { serve } from '../src/index.js';
import { client, closed } from './helpers/sockets.js';

const get = async (url: string): Promise<{ type: string; body: string }> => {
  const res = await fetch(url, { signal: AbortSignal.timeout(3_000) });
  return { type: res.headers.get('content-type') ?? '', body: await res.text() };
};

/** The value of one sample in Prometheus text, e.g. `stateroom_rooms` or `stateroom_closes_total{code="1000"}`. */
function sample(text: string, name: string): number {
  const line = text.split('\n').find((l) => l.startsWith(`${name} `));
  assert.ok(line, `${name} is exported`);
  return Number(line.split(' ')[1]);
}

test('/metrics counts rooms, connections, messages, bytes, closes and call durations', async (t) => {
  const server = await serve(SharedCounter, { port: 0, host: '127.0.0.1', logLevel: 'silent' });
  t.after(() => server.close());
  const base = `http://127.0.0.1:${server.port}`;
  const [a, b] = await Promise.all([client(`ws://127.0.0.1:${server.port}/ws/m`), client(`ws://127.0.0.1:${server.port}/ws/m`)]);
  for (let i = 0; i < 3; i++) a.ws.send('increment');
  await b.texts(3);
  await a.texts(3);
  a.ws.close(1000);
  await closed(a.ws);
  const { type, body } = await get(`${base}/metrics`);
  assert.match(type, /^text\/plain/);
  assert.equal(sample(body, 'stateroom_rooms'), 1);
  assert.equal(sample(body, 'stateroom_connections'), 1);
  assert.equal(sample(body, 'stateroom_messages_in_total'), 3);
  assert.equal(sample(body, 'stateroom_bytes_in_total'), 3 * 'increment'.length);
  assert.equal(sample(body, 'stateroom_messages_out_total'), 6);
  assert.equal(sample(body, 'stateroom_closes_total{code="1000"}'), 1);
  assert.equal(sample(body, 'stateroom_call_duration_seconds_count{callback="message"}'), 3);
  assert.match(body, /^stateroom_process_resident_memory_bytes \d+/m);
  b.ws.terminate();
});

test('/status stays "ok"; /status?format=json gives rooms, connections, uptime and version', async (t) => {
  const server = await serve(SharedCounter, { port: 0, host: '127.0.0.1', logLevel: 'silent' });
  t.after(() => server.close());
  const c = await client(`ws://127.0.0.1:${server.port}/ws/s`);
  t.after(() => c.ws.terminate());
  assert.equal((await get(`http://127.0.0.1:${server.port}/status`)).body, 'ok');
  const json = JSON.parse((await get(`http://127.0.0.1:${server.port}/status?format=json`)).body) as Record<string, unknown>;
  assert.deepEqual({ ...json, uptimeSeconds: typeof json.uptimeSeconds }, {
    status: 'ok',
    version: '0.1.0',
    uptimeSeconds: 'number',
    rooms: 1,
    connections: 1,
  });
});
