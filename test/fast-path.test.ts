// The outbox on real sockets: frames built once per broadcast and written once per socket per
// turn must still reach every client intact, in order, and before a close.
import assert from 'node:assert/strict';
import { test, type TestContext } from 'node:test';
import { serve, type ClientId, type Context, type Payload, type ServiceSource } from '../src/index.js';
import { MemoryLogger } from './helpers/logs.js';
import { client, closed } from './helpers/sockets.js';

async function start(t: TestContext, service: ServiceSource) {
  const server = await serve(service, { port: 0, host: '127.0.0.1', logger: new MemoryLogger() });
  t.after(() => server.close());
  return (path: string) => `ws://127.0.0.1:${server.port}${path}`;
}

const SIZES = [0, 1, 125, 126, 65_535, 65_536, 200_000];

test('one turn of broadcasts of every frame size reaches every client intact and in order', async (t) => {
  const url = await start(t, (_id: string, ctx: Context) => ({
    message: (_c: ClientId, p: Payload) => {
      if (p !== 'go') return;
      for (const size of SIZES) {
        ctx.sendMessage('broadcast', 'é'.repeat(size / 2));
        ctx.sendMessage('broadcast', new Uint8Array(size).fill(size % 251));
      }
      ctx.sendMessage('broadcast', 'end');
    },
  }));
  const clients = await Promise.all([1, 2, 3].map((i) => client(url('/ws/sizes'), `c${i}`)));
  t.after(() => clients.forEach((c) => c.ws.terminate()));
  clients[0]!.ws.send('go');
  for (const c of clients) {
    for (const size of SIZES) {
      assert.equal(await c.nextText(), 'é'.repeat(size / 2), `${c.name}: text of ${size} bytes`);
      const bytes = await c.next();
      assert.ok(bytes.binary, `${c.name}: binary of ${size} bytes is a binary frame`);
      assert.ok(Buffer.from(bytes.data).equals(Buffer.alloc(size, size % 251)), `${c.name}: binary of ${size} bytes intact`);
    }
    assert.equal(await c.nextText(), 'end');
  }
});

test('a broadcast and a shutdown in the same turn: every client gets the message, then 1001', async (t) => {
  let stop: () => Promise<void> = () => Promise.resolve();
  const server = await serve(
    (_id: string, ctx: Context) => ({
      message: () => {
        ctx.sendMessage('broadcast', 'last words');
        void stop();
      },
    }),
    { port: 0, host: '127.0.0.1', logger: new MemoryLogger() },
  );
  stop = () => server.close();
  t.after(() => server.close());
  const clients = await Promise.all([1, 2].map((i) => client(`ws://127.0.0.1:${server.port}/ws/bye`, `c${i}`)));
  const codes = clients.map((c) => closed(c.ws));
  clients[0]!.ws.send('x');
  for (const [i, c] of clients.entries()) {
    assert.equal((await codes[i]!).code, 1001, `${c.name} closed with 1001`);
    assert.deepEqual(await c.texts(1), ['last words'], `${c.name} got the message before the close`);
  }
});

test('a service that reuses one buffer for message after message: every client gets each message as it was sent', async (t) => {
  const scratch = new Uint8Array(3);
  const url = await start(t, (_id: string, ctx: Context) => ({
    message: (client: ClientId) => {
      for (let i = 1; i <= 3; i++) {
        scratch.fill(i);
        ctx.sendMessage('broadcast', scratch);
        ctx.sendMessage(client, scratch);
      }
    },
  }));
  const clients = await Promise.all([1, 2].map((i) => client(url('/ws/reuse'), `c${i}`)));
  t.after(() => clients.forEach((c) => c.ws.terminate()));
  clients[0]!.ws.send('go');
  const hex = async (c: (typeof clients)[number], n: number): Promise<string[]> => {
    const seen: string[] = [];
    for (let i = 0; i < n; i++) seen.push(Buffer.from((await c.next()).data).toString('hex'));
    return seen;
  };
  assert.deepEqual(await hex(clients[0]!, 6), ['010101', '010101', '020202', '020202', '030303', '030303']);
  assert.deepEqual(await hex(clients[1]!, 3), ['010101', '020202', '030303']);
});
