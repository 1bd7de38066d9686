// The outgoing-buffer bound closes clients that do not read, never clients that do: a burst
// queued in one turn (issue 12, item 4) counts against nobody until the kernel has had a chance.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { serve, type ClientId, type Context, type Payload } from '../src/index.js';
import { MemoryLogger } from './helpers/logs.js';
import { client, open } from './helpers/sockets.js';

test('a burst of big broadcasts from one write keeps every reading client; a client that does not read is closed with 1013', async (t) => {
  const chunk = 'b'.repeat(100 * 1024);
  const logger = new MemoryLogger();
  const server = await serve(
    (_id: string, ctx: Context) => ({
      message: (_c: ClientId, p: Payload) => {
        if (p === 'big') ctx.sendMessage('broadcast', chunk);
        else ctx.sendMessage('broadcast', String(p));
      },
    }),
    { port: 0, host: '127.0.0.1', logger },
  );
  t.after(() => server.close());
  const url = `ws://127.0.0.1:${server.port}/ws/burst`;
  const readers = await Promise.all(Array.from({ length: 10 }, (_, i) => client(url, `reader ${i}`)));
  const stalled = await open(url);
  t.after(() => [...readers.map((r) => r.ws), stalled].forEach((s) => s.terminate()));
  const raw = (ws: typeof stalled): { cork(): void; uncork(): void; pause(): void } => (ws as unknown as { _socket: { cork(): void; uncork(): void; pause(): void } })._socket;
  raw(stalled).pause();
  // 100 commands in one write: 10 MiB to each client in one turn of the server, 2.5× the default bound.
  const sender = readers[0]!.ws;
  raw(sender).cork();
  for (let i = 0; i < 100; i++) sender.send('big');
  sender.send('done');
  raw(sender).uncork();
  for (const reader of readers) {
    const texts = await reader.texts(101, 10_000);
    assert.equal(texts.at(-1), 'done', `${reader.name} received everything`);
  }
  // The client that reads nothing is closed once its backlog has stayed over the bound.
  await logger.waitFor((e) => /closed with 1013/.test(e.message), 'the stalled client closed with 1013', 5_000);
  assert.equal(logger.entries.filter((e) => /closed with 1013/.test(e.message)).length, 1, 'only the stalled client was closed');
  // Every reader is still connected and still served.
  sender.send('after');
  for (const reader of readers) assert.equal((await reader.texts(102, 5_000)).at(-1), 'after');
  assert.equal(server.clientCount, 10);
});
