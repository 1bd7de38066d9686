// Hostile input: each case must be refused or contained, and the server keeps serving others.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { connect, type Socket } from 'node:net';
import { test, type TestContext } from 'node:test';
import { serve, type ClientId, type Context, type Payload, type ServiceSource } from '../src/index.js';
import { within } from './helpers/deadline.js';
import { MemoryLogger } from './helpers/logs.js';
import { client, open } from './helpers/sockets.js';

const Echo: ServiceSource = (roomId: string, ctx: Context) => ({
  message: (c: ClientId, p: Payload) => ctx.sendMessage(c, typeof p === 'string' ? `${roomId}:${p}` : p),
});

async function start(t: TestContext, service: ServiceSource = Echo) {
  const logger = new MemoryLogger();
  const server = await serve(service, { port: 0, host: '127.0.0.1', logger, maxPayloadBytes: 64 * 1024 });
  t.after(() => server.close());
  /** Proves the server still serves: /status answers and a new WebSocket opens. */
  const stillServing = async (): Promise<void> => {
    const status = await fetch(`http://127.0.0.1:${server.port}/status`, { signal: AbortSignal.timeout(3_000) });
    assert.equal(await status.text(), 'ok');
    (await open(`ws://127.0.0.1:${server.port}/ws/health`)).terminate();
  };
  return { server, logger, stillServing };
}

/** A raw TCP socket that has completed a WebSocket upgrade; its later bytes are returned by `rest()`. */
async function rawWebSocket(port: number, path = '/ws/raw'): Promise<{ socket: Socket; answer: () => Buffer }> {
  const socket = connect(port, '127.0.0.1');
  await once(socket, 'connect', { signal: AbortSignal.timeout(3_000) });
  let received = Buffer.alloc(0);
  socket.on('data', (d: Buffer) => (received = Buffer.concat([received, d])));
  socket.on('error', () => {});
  socket.write(
    `GET ${path} HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
      `Sec-WebSocket-Key: ${randomBytes(16).toString('base64')}\r\nSec-WebSocket-Version: 13\r\n\r\n`,
  );
  await within(
    new Promise<void>((resolve) => {
      const check = (): void => (received.includes('\r\n\r\n') ? resolve() : void socket.once('data', check));
      check();
    }),
    'the 101 answer',
  );
  assert.match(received.toString('latin1'), /^HTTP\/1\.1 101/);
  received = received.subarray(received.indexOf('\r\n\r\n') + 4);
  return { socket, answer: () => received };
}

/** One client frame: FIN set, the given opcode, masked unless told otherwise. */
function frame(opcode: number, payload: Buffer, { masked = true, claimedLength }: { masked?: boolean; claimedLength?: bigint } = {}): Buffer {
  const length = claimedLength ?? BigInt(payload.length);
  const head: number[] = [0x80 | opcode];
  const maskBit = masked ? 0x80 : 0;
  if (length < 126n) head.push(maskBit | Number(length));
  else if (length < 65_536n) head.push(maskBit | 126, Number(length >> 8n), Number(length & 0xffn));
  else {
    head.push(maskBit | 127);
    for (let shift = 56n; shift >= 0n; shift -= 8n) head.push(Number((length >> shift) & 0xffn));
  }
  if (!masked) return Buffer.concat([Buffer.from(head), payload]);
  const key = randomBytes(4);
  const body = Buffer.from(payload.map((byte, i) => byte ^ key[i % 4]!));
  return Buffer.concat([Buffer.from(head), key, body]);
}

/** The close code in the server's close frame, once the server has closed the socket. */
async function closeCodeFrom(raw: { socket: Socket; answer: () => Buffer }): Promise<number> {
  if (!raw.socket.destroyed) await within(once(raw.socket, 'close'), 'the server to close the socket');
  const bytes = raw.answer();
  assert.equal(bytes[0], 0x88, 'a close frame');
  return bytes.readUInt16BE(2);
}

test('garbage after a valid upgrade closes that socket with 1002', async (t) => {
  const { server, stillServing } = await start(t);
  const raw = await rawWebSocket(server.port);
  raw.socket.write(Buffer.from([0xff, 0xff, 0xff, 0xff, 0x00, 0x13, 0x37]));
  assert.equal(await closeCodeFrom(raw), 1002);
  await stillServing();
});

test('unmasked client frames are a protocol error (1002)', async (t) => {
  const { server, stillServing } = await start(t);
  const raw = await rawWebSocket(server.port);
  raw.socket.write(frame(0x1, Buffer.from('hello'), { masked: false }));
  assert.equal(await closeCodeFrom(raw), 1002);
  await stillServing();
});

test('invalid UTF-8 in a text frame closes with 1007', async (t) => {
  const { server, stillServing } = await start(t);
  const raw = await rawWebSocket(server.port);
  raw.socket.write(frame(0x1, Buffer.from([0x68, 0xc3, 0x28])));
  assert.equal(await closeCodeFrom(raw), 1007);
  await stillServing();
});

test('a frame claiming more than the size limit closes with 1009 before its body arrives', async (t) => {
  const { server, stillServing } = await start(t);
  const raw = await rawWebSocket(server.port);
  raw.socket.write(frame(0x2, Buffer.alloc(16), { claimedLength: 2n ** 40n }));
  assert.equal(await closeCodeFrom(raw), 1009);
  await stillServing();
});

test('a truncated frame followed by a hang-up leaves nothing behind: the room hears the disconnect', async (t) => {
  let disconnected!: (client: ClientId) => void;
  const disconnect = new Promise<ClientId>((resolve) => (disconnected = resolve));
  const { server, stillServing } = await start(t, () => ({ disconnect: (c: ClientId) => disconnected(c) }));
  const raw = await rawWebSocket(server.port, '/ws/trunc');
  raw.socket.write(frame(0x1, Buffer.from('hello world'), { claimedLength: 100n })); // 11 of 100 bytes
  raw.socket.destroy();
  assert.equal(await within(disconnect, 'the disconnect'), 1);
  assert.equal(server.clientCount, 0);
  await stillServing();
});

test('a 64 KiB URL is refused, and the server goes on', async (t) => {
  const { server, stillServing } = await start(t);
  const socket = connect(server.port, '127.0.0.1');
  socket.on('error', () => {});
  let text = '';
  socket.on('data', (d: Buffer) => (text += d.toString('latin1')));
  socket.write(`GET /ws/${'a'.repeat(64 * 1024)} HTTP/1.1\r\nHost: x\r\n\r\n`);
  await within(once(socket, 'close'), 'the answer');
  assert.match(text, /^HTTP\/1\.1 4\d\d /, 'a 4xx answer');
  await stillServing();
});

test('odd room ids are rooms like any other; empty and over-long ones are refused', async (t) => {
  const { server, stillServing } = await start(t);
  const url = (encoded: string): string => `ws://127.0.0.1:${server.port}/ws/${encoded}`;
  // A WebSocket client would normalise /ws/.. and /ws/%2e%2e away (URL dot segments): send them raw.
  for (const path of ['/ws/..', '/ws/%2e%2e']) (await rawWebSocket(server.port, path)).socket.destroy();
  for (const [encoded, id] of [
    ['%00', '\0'],
    ['a%2Fb%2F..', 'a/b/..'],
    ['%F0%9F%8E%B2%20room', '🎲 room'],
  ]) {
    const c = await client(url(encoded!));
    c.ws.send('x');
    assert.equal(await c.nextText(), `${id}:x`, `room id from ${encoded}`);
    c.ws.terminate();
  }
  for (const bad of ['', 'x'.repeat(300), '%ZZ']) {
    await assert.rejects(open(url(bad)), /Unexpected server response: 400/, `/ws/${bad.slice(0, 10)} refused`);
  }
  await stillServing();
});

test('thousands of connections opened and dropped without a close leave no client and no room behind', async (t) => {
  const { server, stillServing } = await start(t);
  const batch = async (from: number): Promise<void> => {
    await Promise.all(
      Array.from({ length: 250 }, async (_, i) => {
        const ws = await open(`ws://127.0.0.1:${server.port}/ws/churn-${(from + i) % 50}`);
        ws.terminate();
      }),
    );
  };
  for (let i = 0; i < 2_000; i += 250) await batch(i);
  await within(
    new Promise<void>((resolve) => {
      const check = (): void => (server.clientCount === 0 ? resolve() : void setTimeout(check, 20));
      check();
    }),
    'every dropped connection to be noticed',
    10_000,
  );
  await stillServing();
});

test('clients dropping in the middle of a broadcast do not disturb it', async (t) => {
  const { server, stillServing } = await start(t, (_id: string, ctx: Context) => ({
    message: (_c: ClientId, p: Payload) => {
      for (let i = 0; i < 200; i++) ctx.sendMessage('broadcast', `${String(p)} ${i}`);
    },
  }));
  const clients = await Promise.all(Array.from({ length: 20 }, () => client(`ws://127.0.0.1:${server.port}/ws/storm`)));
  t.after(() => clients.forEach((c) => c.ws.terminate()));
  clients[0]!.ws.send('wave');
  // Half the room hangs up while the broadcasts are under way.
  for (const c of clients.slice(10)) c.ws.terminate();
  clients[1]!.ws.send('again');
  const last = await clients[2]!.texts(400, 5_000);
  assert.equal(last.at(-1), 'again 199');
  await stillServing();
});
