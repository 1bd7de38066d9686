// Forwarding a WebSocket upgrade to the room's owner node (src/nodes/forward.ts): a real
// stateroom server as the owner, a plain node:http "front" whose upgrade handler forwards, and
// real `ws` clients — through the front and straight to the owner — on 127.0.0.1.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import { createServer as createTcpServer, connect as tcpConnect, type AddressInfo, type Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { test, type TestContext } from 'node:test';
import { inspect } from 'node:util';
import { WebSocket, WebSocketServer } from 'ws';
import { ClusterSecret, FORWARDED_HEADER, signForwarded, verifyForwarded } from '../src/nodes/cluster-auth.js';
import { forwardUpgrade, ForwardCounts, type ForwardOptions, type ForwardOutcome } from '../src/nodes/forward.js';
import { serve, type ClientId, type Context, type Payload, type ServerOptions, type ServiceSource } from '../src/index.js';
import { until, within } from './helpers/deadline.js';
import { MemoryLogger } from './helpers/logs.js';
import { client, closed, open, refusal } from './helpers/sockets.js';

const SECRET = ClusterSecret.fromText('correct horse battery staple, and then some more');
const OTHER_SECRET = ClusterSecret.fromText('a different cluster entirely, with its own secret');

async function listening(server: Server | ReturnType<typeof createTcpServer>): Promise<number> {
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return (server.address() as AddressInfo).port;
}

/** Echoes to the sender; `all:<text>` is broadcast to the room. Records who left. */
function echoService(left: ClientId[] = []): ServiceSource {
  return (_room: string, ctx: Context) => ({
    message: (c: ClientId, p: Payload) => {
      if (typeof p === 'string' && p.startsWith('all:')) ctx.sendMessage('broadcast', p.slice(4));
      else ctx.sendMessage(c, p);
    },
    disconnect: (c: ClientId) => void left.push(c),
  });
}

async function startOwner(t: TestContext, service: ServiceSource, options: ServerOptions = {}) {
  const logger = new MemoryLogger();
  const server = await serve(service, { port: 0, host: '127.0.0.1', logger, ...options });
  t.after(() => server.close());
  return { server, logger, target: `ws://127.0.0.1:${server.port}`, url: (path: string) => `ws://127.0.0.1:${server.port}${path}` };
}

interface Forwarded {
  readonly outcome: ForwardOutcome;
  readonly socket: Duplex;
  /** Bytes the front had written to the client's socket when the outcome came. */
  readonly written: number;
}

/**
 * A front node: every upgrade is forwarded to each of `targets()` in turn until one does not
 * answer `misdirected` or `unreachable` — on the same socket and head, which is what proves a
 * failed forward left them untouched. Past the last target the front answers 503 itself.
 */
async function startFront(t: TestContext, targets: () => string[], options: Partial<ForwardOptions> = {}) {
  const counts = new ForwardCounts();
  const forwarded: Forwarded[] = [];
  let wake: (() => void) | undefined;
  const server = createServer();
  server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    socket.on('error', () => {}); // node:http takes its listener off an upgraded socket
    void (async () => {
      for (const target of targets()) {
        const outcome = await forwardUpgrade(req, socket, head, target, { secret: SECRET, nodeId: 'front-1', counts, ...options });
        forwarded.push({ outcome, socket, written: (socket as Socket).bytesWritten });
        wake?.();
        if (outcome !== 'misdirected' && outcome !== 'unreachable') return;
      }
      socket.end('HTTP/1.1 503 Service Unavailable\r\nConnection: close\r\nContent-Length: 15\r\n\r\nno owner found\n');
    })();
  });
  const port = await listening(server);
  t.after(() => {
    server.closeAllConnections();
    server.close();
  });
  return {
    counts,
    forwarded,
    url: (path: string) => `ws://127.0.0.1:${port}${path}`,
    port,
    /** Waits until `n` forwards have ended. */
    async outcomes(n: number, ms = 3_000): Promise<ForwardOutcome[]> {
      await within(
        new Promise<void>((resolve) => {
          const check = (): void => (forwarded.length >= n ? resolve() : void (wake = check));
          check();
        }),
        `${n} forward outcome(s) (have ${forwarded.map((f) => f.outcome).join(', ')})`,
        ms,
      );
      return forwarded.map((f) => f.outcome);
    },
  };
}


test('messages pass both ways through the front: text, binary, 1 MiB, and 1,000 small ones in order', async (t) => {
  const owner = await startOwner(t, echoService(), { maxPayloadBytes: 2 * 1024 * 1024 });
  const front = await startFront(t, () => [owner.target]);
  const inbox = await client(front.url('/ws/echo'), 'forwarded');
  t.after(() => inbox.ws.terminate());
  assert.deepEqual(await front.outcomes(1), ['piped']);

  inbox.ws.send('hello');
  assert.equal(await inbox.nextText(), 'hello');
  const bytes = Buffer.from([0, 1, 2, 255, 254, 0x81, 0x88]);
  inbox.ws.send(bytes);
  const binary = await inbox.next();
  assert.equal(binary.binary, true);
  assert.deepEqual(binary.data, bytes);

  const big = Buffer.alloc(1024 * 1024);
  for (let i = 0; i < big.length; i++) big[i] = (i * 31 + 7) & 0xff;
  inbox.ws.send(big);
  const back = await inbox.next(10_000);
  assert.equal(back.binary, true);
  assert.ok(big.equals(back.data as Buffer), 'the 1 MiB message came back byte for byte');

  for (let i = 0; i < 1000; i++) inbox.ws.send(`m${i}`);
  const all = await inbox.texts(3 + 1000, 10_000);
  assert.deepEqual(all.slice(3), Array.from({ length: 1000 }, (_, i) => `m${i}`));

  const bytesNow = front.counts.bytes();
  assert.ok(bytesNow.toOwner > 1024 * 1024 && bytesNow.toClient > 1024 * 1024, `bytes counted both ways: ${JSON.stringify(bytesNow)}`);
  assert.equal(front.counts.open, 1);
  assert.equal(front.counts.outcomes.piped, 1);
});

test('a client through the front and one straight at the owner share a room and see each other', async (t) => {
  const owner = await startOwner(t, echoService());
  const front = await startFront(t, () => [owner.target]);
  const via = await client(front.url('/ws/shared'), 'via the front');
  const direct = await client(owner.url('/ws/shared'), 'direct');
  t.after(() => [via.ws, direct.ws].forEach((s) => s.terminate()));
  via.ws.send('all:from the front');
  direct.ws.send('all:from the owner');
  for (const inbox of [via, direct]) assert.deepEqual((await inbox.texts(2)).sort(), ['from the front', 'from the owner']);
});

test("the owner's close code and reason reach the client: 1012 on a reload, 1001 on shutdown", async (t) => {
  const owner = await startOwner(t, echoService());
  const front = await startFront(t, () => [owner.target]);
  const via = await open(front.url('/ws/c'));
  const direct = await open(owner.url('/ws/c'));
  const shut = [closed(via), closed(direct)];
  await owner.server.reload(echoService());
  const [viaClose, directClose] = await Promise.all(shut);
  assert.equal(viaClose?.code, 1012);
  assert.deepEqual(viaClose, directClose, 'the same code and reason as a direct client');

  const again = await open(front.url('/ws/c'));
  const onShutdown = closed(again);
  await owner.server.close();
  assert.equal((await onShutdown).code, 1001);
  await until(() => front.counts.open === 0, 'both spliced sockets of the front closed');
});

test("the client's close reaches the owner: its disconnect runs; the front lets both sockets go", async (t) => {
  const left: ClientId[] = [];
  const owner = await startOwner(t, echoService(left));
  const front = await startFront(t, () => [owner.target]);
  const ws = await open(front.url('/ws/bye'));
  const done = closed(ws);
  ws.close(4000, 'see you');
  assert.deepEqual(await done, { code: 4000, reason: 'see you' }, 'the owner echoed the close frame back through the front');
  await until(() => left.length === 1, "the service's disconnect");
  await until(() => front.counts.open === 0 && front.forwarded.every((f) => f.socket.destroyed), 'the front closed both sockets');
});

test('backpressure: a client through the front that does not read is closed by the owner with 1013; the front buffers little', async (t) => {
  const left: ClientId[] = [];
  const chunk = 'z'.repeat(64 * 1024);
  const owner = await startOwner(
    t,
    (_id: string, ctx: Context) => ({
      message: (_c: ClientId, p: Payload) => {
        const [, count] = /^flood (\d+)$/.exec(String(p)) ?? [];
        for (let i = 0; i < Number(count); i++) ctx.sendMessage('broadcast', chunk);
        ctx.sendMessage('broadcast', 'done');
      },
      disconnect: (c: ClientId) => void left.push(c),
    }),
    { maxBufferedBytes: 1024 * 1024 },
  );
  // Longer than the owner's own 2 s rule, so that the owner (not the front) is what closes the client.
  const front = await startFront(t, () => [owner.target], { stallTimeoutMs: 3_000 });
  const reader = await client(owner.url('/ws/slow'), 'reader');
  const stalled = await open(front.url('/ws/slow'));
  t.after(() => [reader.ws, stalled].forEach((s) => s.terminate()));
  await front.outcomes(1);
  // What the front holds for the stalled client, after every write `pipe` makes to it.
  const frontSide = front.forwarded[0]!.socket as Socket;
  let most = 0;
  const write = frontSide.write.bind(frontSide) as (...args: unknown[]) => boolean;
  (frontSide as unknown as { write: (...args: unknown[]) => boolean }).write = (...args: unknown[]) => {
    const ok = write(...args);
    most = Math.max(most, frontSide.writableLength);
    return ok;
  };
  (stalled as unknown as { _socket: Socket })._socket.pause();
  for (let round = 0; round < 24 && left.length === 0; round++) {
    reader.ws.send('flood 32'); // 2 MiB per round to each client
    await reader.texts((round + 1) * 33, 10_000);
  }
  await owner.logger.waitFor((e) => /closed with 1013/.test(e.message), 'the stalled client closed with 1013', 5_000);
  assert.deepEqual(left, [2], 'the room saw the stalled client leave');
  assert.ok(most > 0 && most < 256 * 1024, `the front held at most ${most} bytes for the stalled client`);
  // The owner's close sits behind what the front has not yet passed on: the stall timeout ends the pair.
  await until(() => front.counts.open === 0, 'the front let both sockets go', 8_000);
});

test('421 from the target → misdirected, the client socket untouched: the same socket and head then reach the owner', async (t) => {
  const owner = await startOwner(t, echoService());
  const wrong = createServer();
  let asked = 0;
  wrong.on('upgrade', (_req, socket: Duplex) => {
    asked += 1;
    socket.end('HTTP/1.1 421 Misdirected Request\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
  });
  const wrongPort = await listening(wrong);
  t.after(() => wrong.close());
  const front = await startFront(t, () => [`ws://127.0.0.1:${wrongPort}`, owner.target]);
  const inbox = await client(front.url('/ws/moved'));
  t.after(() => inbox.ws.terminate());
  assert.deepEqual(await front.outcomes(2), ['misdirected', 'piped']);
  assert.equal(front.forwarded[0]!.written, 0, 'nothing written to the client on misdirected');
  assert.equal(asked, 1);
  inbox.ws.send('still here');
  assert.equal(await inbox.nextText(), 'still here');
});

test('connection refused → unreachable at once, nothing written; a refusal of the owner is passed on as answered', async (t) => {
  const gone = createServer();
  const gonePort = await listening(gone);
  gone.close();
  await once(gone, 'close');
  const owner = await startOwner(t, echoService(), { authorize: () => ({ status: 403, reason: 'not you' }) });
  const front = await startFront(t, () => [`ws://127.0.0.1:${gonePort}`]);
  const started = Date.now();
  assert.equal(await refusal(front.url('/ws/x')), '503 no owner found');
  assert.deepEqual(await front.outcomes(1), ['unreachable']);
  assert.ok(Date.now() - started < 1_000, `unreachable took ${Date.now() - started} ms`);
  assert.equal(front.forwarded[0]!.written, 0);

  const refusing = await startFront(t, () => [owner.target]);
  assert.equal(await refusal(refusing.url('/ws/x')), '403 not you');
  assert.deepEqual(await refusing.outcomes(1), ['answered']);
  await until(() => refusing.forwarded[0]!.socket.destroyed && refusing.counts.open === 0, 'both sockets of the refusal closed');
});

test('an owner that never answers → unreachable within the timeout; a client that leaves first → abandoned, upstream destroyed', async (t) => {
  const held: Socket[] = [];
  const silent = createTcpServer((s) => void held.push(s.on('error', () => {}).resume()));
  const silentPort = await listening(silent);
  t.after(() => {
    held.forEach((s) => s.destroy());
    silent.close();
  });
  const front = await startFront(t, () => [`ws://127.0.0.1:${silentPort}`], { connectTimeoutMs: 300 });
  const started = Date.now();
  assert.equal(await refusal(front.url('/ws/x')), '503 no owner found');
  assert.deepEqual(await front.outcomes(1), ['unreachable']);
  const took = Date.now() - started;
  assert.ok(took >= 250 && took < 1_500, `unreachable after ${took} ms`);
  await until(() => held[0]!.destroyed || held[0]!.readableEnded, 'the silent upstream closed by the front');

  // A raw client sends its upgrade and goes away while the front waits for the owner.
  const raw = tcpConnect(front.port, '127.0.0.1');
  raw.on('error', () => {});
  raw.write('GET /ws/x HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n');
  await until(() => held.length === 2, 'the second upstream connection');
  const upstreamClosed = once(held[1]!, 'close');
  raw.destroy();
  assert.deepEqual(await front.outcomes(2), ['unreachable', 'abandoned']);
  await within(upstreamClosed, 'the upstream of a client that left to close');
});

test('an owner that ends the connection (FIN) without answering → unreachable at once, not after the timeout', async (t) => {
  const closing = createTcpServer((s) => s.on('error', () => {}).once('data', () => s.end()));
  const port = await listening(closing);
  t.after(() => closing.close());
  const front = await startFront(t, () => [`ws://127.0.0.1:${port}`], { connectTimeoutMs: 5_000 });
  const started = Date.now();
  assert.equal(await refusal(front.url('/ws/x')), '503 no owner found');
  assert.deepEqual(await front.outcomes(1), ['unreachable']);
  assert.ok(Date.now() - started < 2_000, `unreachable after ${Date.now() - started} ms (timeout 5 s)`);
});

test('an owner answering a head past maxHeadBytes, or not HTTP: the client gets 502, outcome answered', async (t) => {
  const answers = ['HTTP/1.1 101 Switching Protocols\r\n' + `X-Pad: ${'p'.repeat(2048)}\r\n\r\n`, 'SSH-2.0-OpenSSH_9.2\r\n\r\n'];
  const odd = createServer();
  odd.on('upgrade', (_req, socket: Duplex) => void socket.end(answers.shift()));
  const oddPort = await listening(odd);
  t.after(() => odd.close());
  const front = await startFront(t, () => [`ws://127.0.0.1:${oddPort}`], { maxHeadBytes: 1024 });
  assert.equal(await refusal(front.url('/ws/x')), '502 the owner node answered with an oversized head');
  assert.equal(await refusal(front.url('/ws/x')), '502 the owner node answered something that is not HTTP');
  assert.deepEqual(await front.outcomes(2), ['answered', 'answered']);
});

test("the owner gets the client's request as sent, minus hop-by-hop and smuggled headers, plus a verifiable signature", async (t) => {
  // A bare owner that shows what it was sent: headers, and what verifyForwarded makes of them.
  const seen: IncomingMessage[] = [];
  const wss = new WebSocketServer({ noServer: true });
  wss.on('headers', (headers) => headers.push('x-Owner-Said:   odd  Spacing\t', 'X-Empty:'));
  const bare = createServer();
  bare.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    seen.push(req);
    wss.handleUpgrade(req, socket, head, (ws) => {
      const verified = verifyForwarded(SECRET, req.headers[FORWARDED_HEADER] as string | undefined, { method: req.method!, url: req.url! });
      ws.send(JSON.stringify({ verified, origin: req.headers.origin }));
    });
  });
  const barePort = await listening(bare);
  t.after(() => {
    wss.close();
    bare.closeAllConnections();
    bare.close();
  });
  const front = await startFront(t, () => [`ws://127.0.0.1:${barePort}`]);
  const inbox = await client(front.url('/ws/who?token=abc'), 'client', {
    headers: {
      Origin: 'https://app.example',
      [FORWARDED_HEADER]: signForwarded(OTHER_SECRET, { nodeId: 'evil', clientAddress: '10.6.6.6', method: 'GET', url: '/ws/who?token=abc' }),
      'X-Secret-Hop': 'drop me',
      'Keep-Alive': 'timeout=5',
      'X-Kept': 'keep me',
    },
  });
  t.after(() => inbox.ws.terminate());
  // ws sends `Connection: Upgrade`; a client naming a header hop-by-hop is tested through the raw request below.
  const said = JSON.parse(await inbox.nextText()) as { verified: unknown; origin: string };
  assert.deepEqual(said, { verified: { clientAddress: '127.0.0.1', nodeId: 'front-1' }, origin: 'https://app.example' });
  const req = seen[0]!;
  const names = req.rawHeaders.filter((_, i) => i % 2 === 0).map((n) => n.toLowerCase());
  assert.equal(names.filter((n) => n === FORWARDED_HEADER).length, 1, 'only the front’s own forwarded header');
  assert.ok(!names.includes('keep-alive'), 'hop-by-hop headers stripped');
  assert.equal(req.headers['x-kept'], 'keep me');
  assert.equal(req.headers['x-secret-hop'], 'drop me', 'not declared hop-by-hop, so kept');
  assert.equal(req.headers.connection, 'Upgrade');

  // A header the client declares hop-by-hop in Connection goes; the rest of the head arrives in order;
  // the owner's 101 reaches the client byte for byte (the same bytes a direct client gets).
  const rawRequest =
    'GET /ws/raw HTTP/1.1\r\nHost: front\r\nUpgrade: websocket\r\nConnection: Upgrade, X-Secret-Hop\r\nX-Secret-Hop: drop me\r\n' +
    `${FORWARDED_HEADER.toUpperCase()}: v1.forged\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\nX-Last: z\r\n\r\n`;
  const answerHead = async (port: number): Promise<string> => {
    const raw = tcpConnect(port, '127.0.0.1');
    raw.on('error', () => {});
    t.after(() => raw.destroy());
    raw.write(rawRequest);
    let text = '';
    raw.on('data', (chunk: Buffer) => (text += chunk.toString('latin1')));
    await until(() => text.includes('\r\n\r\n'), `the answer head from port ${port}`);
    return text.slice(0, text.indexOf('\r\n\r\n') + 4);
  };
  const throughFront = await answerHead(front.port);
  await until(() => seen.length === 2, 'the raw request at the owner');
  assert.match(throughFront, /^HTTP\/1\.1 101 [^]*x-Owner-Said: {3}odd {2}Spacing\t\r\n/);
  assert.equal(throughFront, await answerHead(barePort), 'the 101 head byte for byte');
  assert.deepEqual(seen[1]!.rawHeaders.slice(0, 14), [
    'Host', 'front', 'Upgrade', 'websocket', 'Sec-WebSocket-Key', 'dGhlIHNhbXBsZSBub25jZQ==', 'Sec-WebSocket-Version', '13', 'X-Last', 'z',
    'Connection', 'Upgrade', FORWARDED_HEADER, seen[1]!.headers[FORWARDED_HEADER],
  ]);
  assert.deepEqual(verifyForwarded(SECRET, seen[1]!.headers[FORWARDED_HEADER] as string, { method: 'GET', url: '/ws/raw' }), { clientAddress: '127.0.0.1', nodeId: 'front-1' });
});

test('verifyForwarded accepts the signature for its request only; the secret never prints', () => {
  const fields = { nodeId: 'node-a', clientAddress: '2001:db8::1', method: 'GET', url: '/ws/room?token=t' };
  const value = signForwarded(SECRET, fields);
  assert.deepEqual(verifyForwarded(SECRET, value, fields), { clientAddress: '2001:db8::1', nodeId: 'node-a' });
  assert.equal(verifyForwarded(OTHER_SECRET, value, fields), undefined, 'another secret');
  assert.equal(verifyForwarded(SECRET, value, { ...fields, url: '/ws/other?token=t' }), undefined, 'another url');
  assert.equal(verifyForwarded(SECRET, value, { ...fields, method: 'POST' }), undefined, 'another method');
  assert.equal(verifyForwarded(SECRET, undefined, fields), undefined, 'no header');
  const parts = value.split('.');
  const flip = (s: string): string => (s[0] === 'A' ? 'B' : 'A') + s.slice(1);
  const garbled = [
    '',
    'garbage',
    `${value}.x`,
    `${value}, ${value}`, // the header twice, as node:http joins it
    value.slice(0, -2),
    [parts[0], parts[1], parts[2], flip(parts[3]!)].join('.'),
    [parts[0], Buffer.from('node-b').toString('base64url'), parts[2], parts[3]].join('.'), // another node's name on this MAC
    [parts[0], parts[1], Buffer.from('10.0.0.1').toString('base64url'), parts[3]].join('.'), // another address on this MAC
    ['v2', parts[1], parts[2], parts[3]].join('.'),
    [parts[0], parts[1], parts[2], `${parts[3]}==`].join('.'),
    [parts[0], parts[1], parts[2], `${parts[3]!.slice(0, -1)}!`].join('.'),
    'x'.repeat(5000),
  ];
  for (const bad of garbled) assert.equal(verifyForwarded(SECRET, bad, fields), undefined, `rejects ${JSON.stringify(bad.slice(0, 60))}`);
  // A signer's non-address in the address field is refused too.
  assert.equal(verifyForwarded(SECRET, signForwarded(SECRET, { ...fields, clientAddress: 'not-an-ip' }), fields), undefined);

  const text = 'this is the cluster secret: do not print it anywhere';
  const secret = ClusterSecret.fromText(`  ${text}\n`);
  for (const shown of [String(secret), `${String(secret)}`, secret.toString(), inspect(secret), inspect({ secret }, { showHidden: true, depth: 5 }), JSON.stringify({ secret })]) {
    assert.ok(!shown.includes('cluster secret'), `printed: ${shown}`);
  }
  assert.ok(verifyForwarded(ClusterSecret.fromText(text), signForwarded(secret, fields), fields), 'trimmed text is the secret');
  assert.throws(() => ClusterSecret.fromText(' short secret \n'), (err: Error & { code?: string }) => {
    assert.equal(err.code, 'SR_ERR_OPTIONS_INVALID');
    assert.ok(!err.message.includes('short secret'), 'the error does not quote the text');
    return true;
  });
});

test('the owner going away mid-stream closes the client through the front: no hang, no leaked sockets', async (t) => {
  // A bare owner whose TCP sockets can be cut, as a node that dies would cut them.
  const owned: Socket[] = [];
  const wss = new WebSocketServer({ noServer: true });
  const bare = createServer();
  bare.on('connection', (s: Socket) => void owned.push(s));
  bare.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    wss.handleUpgrade(req, socket, head, (ws) => ws.on('message', (data, binary) => ws.send(data, { binary })));
  });
  const barePort = await listening(bare);
  t.after(() => {
    wss.close();
    bare.close();
  });
  const front = await startFront(t, () => [`ws://127.0.0.1:${barePort}`]);
  const inbox = await client(front.url('/ws/doomed'));
  const shut = closed(inbox.ws, 5_000);
  let sent = 0;
  const streaming = setInterval(() => inbox.ws.readyState === WebSocket.OPEN && inbox.ws.send(`n${sent++}`), 1);
  t.after(() => clearInterval(streaming));
  await inbox.texts(20);
  owned.forEach((s) => s.resetAndDestroy());
  const { code } = await shut;
  clearInterval(streaming);
  assert.equal(code, 1006, 'an abnormal closure, as when a server dies');
  await until(() => front.counts.open === 0 && front.forwarded[0]!.socket.destroyed, 'the front let both sockets go');
});
