// The service API beyond send and timers: closing one client (ctx.close), the dispose hook,
// and who a client is (ctx.clientInfo) — with real sockets, and a Room for what a socket cannot show.
import assert from 'node:assert/strict';
import { test, type TestContext } from 'node:test';
import { WebSocket } from 'ws';
import { ErrorCode, StateroomError } from '../src/errors.js';
import { serve, type Authorize, type ClientId, type Context, type Payload, type ServerOptions, type ServiceSource } from '../src/index.js';
import { Room, type ClientSink } from '../src/room/room.js';
import type { ServiceAdapter } from '../src/service/adapter.js';
import { until, within } from './helpers/deadline.js';
import { MemoryLogger } from './helpers/logs.js';
import { freePort } from './helpers/ports.js';
import { needRedis, startRedis } from './helpers/redis.js';
import { Inbox, client, closed, refusal } from './helpers/sockets.js';

const redis = await needRedis();

async function start(t: TestContext, service: ServiceSource, options: ServerOptions = {}) {
  const logger = new MemoryLogger();
  const server = await serve(service, { port: 0, host: '127.0.0.1', logger, ...options });
  let stopped: Promise<void> | undefined;
  const stop = (): Promise<void> => (stopped ??= server.close());
  t.after(stop);
  const ws = (path = '/ws') => `ws://127.0.0.1:${server.port}${path}`;
  return { server, logger, ws, stop };
}


/** Runs `act` and answers what it threw, as `CODE: message`, or `ok`. */
function attempt(act: () => void): string {
  try {
    act();
    return 'ok';
  } catch (err) {
    return err instanceof StateroomError ? `${err.code}: ${err.message}` : `not a StateroomError: ${String(err)}`;
  }
}

/**
 * Closes clients on request, and tells everyone who left. `kick [code [reason]]` closes the
 * sender (and tries to send it one more message); `close <json args>` reports what
 * `ctx.close(...args)` threw; in room `full`, every client is closed from its `connect`.
 */
const Kicker: ServiceSource = (roomId: string, ctx: Context) => {
  const events: string[] = [];
  return {
    connect: (c: ClientId) => {
      events.push(`connect ${c}`);
      if (roomId === 'full') ctx.close(c, 4003, 'the room is full');
      ctx.sendMessage(c, `welcome ${c}`); // after a close: never reaches it
    },
    disconnect: (c: ClientId) => {
      events.push(`disconnect ${c}`);
      ctx.sendMessage('broadcast', `disconnect ${c} after ${events.join(',')}`);
    },
    message: (c: ClientId, p: Payload) => {
      const text = String(p);
      if (text.startsWith('kick')) {
        const [, code, ...reason] = text.split(' ');
        if (code === undefined) ctx.close(c);
        else ctx.close(c, Number(code), reason.join(' '));
        ctx.sendMessage(c, 'after the close');
        ctx.sendMessage({ except: c }, `kicked ${c}`);
      } else if (text.startsWith('close ')) {
        const args = JSON.parse(text.slice(6)) as unknown[];
        ctx.sendMessage(c, attempt(() => (ctx.close as (...a: unknown[]) => void)(...args)));
      }
    },
  };
};

test('ctx.close closes the client with its code and reason; the service gets its disconnect; nothing more reaches it', async (t) => {
  const { ws } = await start(t, Kicker);
  const [alice, bob] = [await client(ws('/ws/k'), 'alice'), await client(ws('/ws/k'), 'bob')];
  t.after(() => [alice, bob].forEach((c) => c.ws.terminate()));
  await Promise.all([alice.texts(1), bob.texts(1)]);
  const gone = closed(alice.ws);
  alice.ws.send('kick 4000 bye now');
  assert.deepEqual(await gone, { code: 4000, reason: 'bye now' });
  assert.deepEqual(await bob.texts(3), ['welcome 2', 'kicked 1', 'disconnect 1 after connect 1,connect 2,disconnect 1']);
  assert.deepEqual(
    alice.messages.map((m) => m.data),
    ['welcome 1'],
    'nothing sent after the close reached the client',
  );
});

test('ctx.close defaults to 1000 with no reason; closing twice, or an unknown client, does nothing', async (t) => {
  const { ws } = await start(t, Kicker);
  const [alice, bob] = [await client(ws('/ws/d'), 'alice'), await client(ws('/ws/d'), 'bob')];
  t.after(() => [alice, bob].forEach((c) => c.ws.terminate()));
  await Promise.all([alice.texts(1), bob.texts(1)]);
  bob.ws.send('close [9999, 4000]');
  assert.equal(await bob.nextText(), 'welcome 2');
  assert.equal(await bob.nextText(), 'ok', 'an unknown client: no-op, no throw');
  const gone = closed(alice.ws);
  alice.ws.send('kick');
  assert.deepEqual(await gone, { code: 1000, reason: '' });
  assert.equal(await bob.nextText(), 'kicked 1');
  assert.match(await bob.nextText(), /^disconnect 1 after/);
  bob.ws.send('close [1, 4000]');
  assert.equal(await bob.nextText(), 'ok', 'a client already gone: no-op, no throw');
  bob.ws.send('close [1]');
  assert.equal(await bob.nextText(), 'ok');
  await new Promise((r) => setTimeout(r, 50));
  assert.equal(bob.messages.filter((m) => String(m.data).startsWith('disconnect 1')).length, 1, 'one disconnect');
});

test('ctx.close refuses codes a service may not send, long reasons and non-ids with SR_ERR_BAD_SEND', async (t) => {
  const { ws } = await start(t, Kicker);
  const bob = await client(ws('/ws/bad'), 'bob');
  t.after(() => bob.ws.terminate());
  assert.equal(await bob.nextText(), 'welcome 1');
  const cases: Array<[unknown[], RegExp]> = [
    [[1, 1001], /the close code must be 1000 or from 3000 to 4999, not 1001/],
    [[1, 1011], /not 1011/],
    [[1, 2999], /not 2999/],
    [[1, 5000], /not 5000/],
    [[1, 4000.5], /not 4000\.5/],
    [[1, '4000'], /not string/],
    [[1, 4000, 'é'.repeat(62)], /at most 123 bytes in UTF-8, not 124/],
    [[1, 4000, 42], /the close reason must be a string, not number/],
    [[0], /0 is not a client id/],
    [['1'], /"1" is not a client id/],
  ];
  for (const [args, why] of cases) {
    bob.ws.send(`close ${JSON.stringify(args)}`);
    const answer = await bob.nextText();
    assert.ok(answer.startsWith(`${ErrorCode.BAD_SEND}: close in room "bad": `), `${JSON.stringify(args)}: ${answer}`);
    assert.match(answer, why);
  }
  // The longest reason a close frame carries is fine, and 3000 and 4999 are in range.
  const gone = closed(bob.ws);
  bob.ws.send(`close ${JSON.stringify([1, 4999, `${'é'.repeat(61)}x`])}`);
  assert.deepEqual(await gone, { code: 4999, reason: `${'é'.repeat(61)}x` });
});

test('closing a client from its connect works: it gets the close, and the service its disconnect', async (t) => {
  const { ws, server } = await start(t, Kicker);
  const alice = await client(ws('/ws/full'), 'alice');
  t.after(() => alice.ws.terminate());
  assert.deepEqual(await closed(alice.ws), { code: 4003, reason: 'the room is full' });
  assert.equal(alice.messages.length, 0);
  await until(() => server.clientCount === 0, 'the server to let the client go');
});

test('a client with a resume token is not held for a resume after ctx.close: its seat is given up at once', async (t) => {
  // A grace period far longer than the test: a disconnect seen now was not the grace running out.
  const { ws } = await start(t, Kicker, { resumeGraceMs: 60_000 });
  const watcher = await client(ws('/ws/tok?token=w'), 'watcher');
  const kicked = await client(ws('/ws/tok?token=k'), 'kicked');
  t.after(() => [watcher, kicked].forEach((c) => c.ws.terminate()));
  await Promise.all([watcher.texts(1), kicked.texts(1)]);
  kicked.ws.send('kick 4000 out');
  assert.deepEqual(await closed(kicked.ws), { code: 4000, reason: 'out' });
  assert.deepEqual(await watcher.texts(3), ['welcome 1', 'kicked 2', 'disconnect 2 after connect 1,connect 2,disconnect 2']);
  // Coming back with the token and its count: a fresh seat (same id, as tokens keep theirs), a new connect.
  const back = new WebSocket(ws('/ws/tok?token=k&received=1'), ['stateroom.fresh', 'stateroom.resumed']);
  t.after(() => back.terminate());
  const backInbox = new Inbox(back, 'back');
  await within(new Promise((r) => back.once('open', r)), 'the new connection');
  assert.equal(back.protocol, 'stateroom.fresh', 'the seat was not kept for a resume');
  assert.equal(await backInbox.nextText(), 'welcome 2');
});

test('a client closed by the service while its messages still wait: they run before its disconnect, none after', async (t) => {
  const seen: string[] = [];
  let release!: () => void;
  const gate = new Promise<void>((r) => (release = r));
  const { ws } = await start(t, (_roomId: string, ctx: Context) => ({
    message: async (c: ClientId, p: Payload) => {
      seen.push(`message ${c} ${String(p)}`);
      if (p === 'first') {
        ctx.close(c, 4000);
        await gate;
      }
    },
    disconnect: (c: ClientId) => void seen.push(`disconnect ${c}`),
  }));
  const alice = await client(ws('/ws/q'), 'alice');
  t.after(() => alice.ws.terminate());
  alice.ws.send('first');
  alice.ws.send('second'); // may or may not arrive before the close: a message it sent before, if it does
  await closed(alice.ws);
  release();
  await until(() => seen.includes('disconnect 1'), 'the disconnect');
  assert.equal(seen[0], 'message 1 first');
  assert.equal(seen.at(-1), 'disconnect 1', 'nothing after the disconnect');
});

// ——— dispose ———

/** A service that records its room's events in `log`, and its dispose as `dispose <room>`. */
function recording(log: string[], dispose?: (roomId: string) => Promise<void> | void): ServiceSource {
  return (roomId: string, ctx: Context) => ({
    connect: (c: ClientId) => void log.push(`connect ${c}`),
    disconnect: (c: ClientId) => void log.push(`disconnect ${c}`),
    message: (c: ClientId, p: Payload) => ctx.sendMessage(c, p),
    dispose: (context: Context) => {
      assert.equal(context, ctx, 'the room context');
      // Nothing is sent from here, and nothing throws: the room has stopped.
      context.sendMessage('broadcast', 'from dispose');
      context.setTimer(0);
      log.push(`dispose ${roomId}`);
      return dispose?.(roomId);
    },
  });
}

test('dispose runs once when an idle room is disposed, after its last disconnect', async (t) => {
  const log: string[] = [];
  const { ws, server } = await start(t, recording(log), { roomIdleMs: 50 });
  const a = await client(ws('/ws/idle'), 'a');
  const b = await client(ws('/ws/idle'), 'b');
  a.ws.close();
  b.ws.close();
  await until(() => log.includes('dispose idle'), 'dispose');
  await until(() => server.roomCount === 0, 'the room to go');
  await new Promise((r) => setTimeout(r, 100));
  assert.deepEqual(log.slice().sort(), ['connect 1', 'connect 2', 'disconnect 1', 'disconnect 2', 'dispose idle']);
  assert.equal(log.at(-1), 'dispose idle');
});

test('server.close waits for an async dispose, after the clients left', async (t) => {
  const log: string[] = [];
  const { ws, stop } = await start(
    t,
    recording(log, async (roomId) => {
      await new Promise((r) => setTimeout(r, 100));
      log.push(`flushed ${roomId}`);
    }),
  );
  const a = await client(ws('/ws/shut'), 'a');
  t.after(() => a.ws.terminate());
  a.ws.send('ping');
  await a.nextText();
  await within(stop(), 'server.close');
  assert.deepEqual(log, ['connect 1', 'disconnect 1', 'dispose shut', 'flushed shut']);
});

test('a dispose that throws is logged and the room is disposed all the same', async (t) => {
  const log: string[] = [];
  const { ws, stop, logger, server } = await start(
    t,
    recording(log, () => {
      throw new Error('cannot flush');
    }),
  );
  const a = await client(ws('/ws/oops'), 'a');
  t.after(() => a.ws.terminate());
  await within(stop(), 'server.close');
  assert.equal(server.roomCount, 0);
  const entry = logger.entries.find((e) => e.fields.code === ErrorCode.SERVICE_THREW);
  assert.ok(entry, 'the throw is logged');
  assert.equal(entry.level, 'error');
  assert.equal(entry.fields.callback, 'dispose');
  assert.match(entry.message, /service threw in dispose\(\) \(room "oops"\); the room is disposed all the same: Error: cannot flush/);
});

test('a dispose that never settles holds shutdown no longer than the shutdown deadline', async (t) => {
  const log: string[] = [];
  const { ws, stop } = await start(
    t,
    recording(log, () => new Promise<void>(() => {})),
    { shutdownTimeoutMs: 200 },
  );
  const a = await client(ws('/ws/stuck'), 'a');
  t.after(() => a.ws.terminate());
  const began = Date.now();
  await within(stop(), 'server.close', 2_500);
  assert.ok(Date.now() - began < 2_500);
  assert.ok(log.includes('dispose stuck'));
});

test('a reload disposes the old service’s rooms: their dispose runs', async (t) => {
  const log: string[] = [];
  const { ws, server } = await start(t, recording(log));
  const a = await client(ws('/ws/dev'), 'a');
  t.after(() => a.ws.terminate());
  await until(() => log.includes('connect 1'), 'connect');
  await within(server.reload(recording([])), 'reload');
  assert.deepEqual(log, ['connect 1', 'disconnect 1', 'dispose dev']);
});

test('a reload whose old room never finishes letting go goes on after the shutdown deadline: the room id starts afresh on the new service', async (t) => {
  const before: string[] = [];
  const after: string[] = [];
  const { ws, server, logger } = await start(
    t,
    recording(before, () => new Promise<void>(() => {})),
    { shutdownTimeoutMs: 200 },
  );
  const a = await client(ws('/ws/stuck'), 'a');
  t.after(() => a.ws.terminate());
  await until(() => before.includes('connect 1'), 'connect');
  // `stateroom dev` awaits this before its next build: a reload that never returned stopped
  // every rebuild after it.
  await within(server.reload(recording(after)), 'the reload', 2_500);
  await logger.waitFor((e) => e.level === 'warn' && /still busy 200 ms after the reload began/.test(e.message), 'the stuck room named');
  const b = await client(ws('/ws/stuck'), 'b');
  t.after(() => b.ws.terminate());
  await until(() => after.length > 0, 'the new service to hear the new client');
  assert.match(after[0]!, /^connect \d+$/);
});

/** A Room on an adapter the test controls, as a unit: `failed` reports a failure between calls. */
function hookedRoom() {
  const calls: string[] = [];
  let failed!: (error: StateroomError) => void;
  const adapter: ServiceAdapter & { beforeDispose(): void } = {
    init: () => void calls.push('init'),
    connect: (c) => void calls.push(`connect ${c}`),
    disconnect: (c) => void calls.push(`disconnect ${c}`),
    message: () => {},
    timer: () => {},
    beforeDispose: () => void calls.push('beforeDispose'),
    dispose: () => void calls.push('dispose'),
  };
  const room = new Room(
    'u',
    (_id, _ctx, _log, f) => {
      failed = f;
      return adapter;
    },
    { onEmpty: () => {}, onFailed: () => {} },
    new MemoryLogger(),
  );
  return { room, calls, fail: (error: StateroomError) => failed(error) };
}

const sink = (): ClientSink & { closedWith?: [number, string] } => ({
  send: () => {},
  close(code, reason) {
    this.closedWith = [code, reason];
  },
});

test('Room: the service dispose hook runs before the adapter is released, and not for a failed room', async () => {
  const live = hookedRoom();
  const gone = sink();
  live.room.join(gone);
  live.room.leave(1, gone);
  await within(live.room.dispose(), 'dispose');
  assert.deepEqual(live.calls, ['init', 'connect 1', 'disconnect 1', 'beforeDispose', 'dispose']);

  const broken = hookedRoom();
  const s = sink();
  broken.room.join(s);
  broken.fail(new StateroomError(ErrorCode.WASM_WORKER_LOST, 'lost', { roomId: 'u' }));
  await within(broken.room.dispose(), 'dispose of a failed room');
  await new Promise((r) => setImmediate(r));
  assert.deepEqual(broken.calls, ['init', 'connect 1', 'dispose'], 'released, but no dispose hook');
  assert.equal(s.closedWith?.[0], 1011);
});

test('Room: ctx.close on a client whose connect has not run yet does nothing; a seat held for a resume is given up', async () => {
  let ctx!: Context;
  const calls: string[] = [];
  let open!: () => void;
  const gate = new Promise<void>((r) => (open = r));
  const room = new Room(
    'v',
    (_id, c) => {
      ctx = c;
      return { init: () => gate, connect: (id) => void calls.push(`connect ${id}`), disconnect: (id) => void calls.push(`disconnect ${id}`), message: () => {}, timer: () => {} };
    },
    { onEmpty: () => {}, onFailed: () => {} },
    new MemoryLogger(),
    { resumeGraceMs: 60_000, resumeBufferBytes: 1024 },
  );
  const a = sink();
  room.join(a, { token: 'a' }); // its connect waits behind the init
  ctx.close(1, 4000);
  assert.equal(a.closedWith, undefined, 'not yet the service’s to close');
  open();
  await until(() => calls.includes('connect 1'), 'connect');
  room.leave(1, a); // dropped: held for a resume
  await new Promise((r) => setImmediate(r));
  assert.deepEqual(calls, ['connect 1']);
  assert.equal(room.clientCount, 1);
  ctx.close(1, 4000);
  assert.deepEqual(calls, ['connect 1', 'disconnect 1']);
  assert.equal(room.clientCount, 0);
  await room.dispose();
});

// ——— clientInfo ———

test('ctx.clientInfo tells the address, origin and user agent from connect to disconnect; capped in length', async (t) => {
  const infos: string[] = [];
  const { ws } = await start(t, (_roomId: string, ctx: Context) => ({
    connect: (c: ClientId) => ctx.sendMessage(c, JSON.stringify(ctx.clientInfo(c))),
    disconnect: (c: ClientId) => void infos.push(`${c} ${JSON.stringify(ctx.clientInfo(c))}`),
    message: (c: ClientId, p: Payload) => ctx.sendMessage(c, String(ctx.clientInfo(Number(p)) === undefined)),
  }));
  const headers = { origin: 'https://board.example', 'user-agent': `tester/1 ${'x'.repeat(400)}` };
  const alice = await client(ws('/ws/who'), 'alice', { headers });
  const bob = await client(ws('/ws/who'), 'bob');
  t.after(() => [alice, bob].forEach((c) => c.ws.terminate()));
  const info = JSON.parse(await alice.nextText()) as Record<string, string>;
  assert.equal(info.address, '127.0.0.1');
  assert.equal(info.origin, 'https://board.example');
  assert.equal(info.userAgent, `tester/1 ${'x'.repeat(400)}`.slice(0, 256));
  assert.equal('user' in info, false, 'no authorize hook, no user');
  const bobs = JSON.parse(await bob.nextText()) as Record<string, string>;
  assert.deepEqual([bobs.address, bobs.origin], ['127.0.0.1', ''], 'no Origin header: an empty origin');
  alice.ws.close();
  await until(() => infos.length === 1, 'alice’s disconnect');
  assert.match(infos[0]!, /^1 \{"address":"127\.0\.0\.1","origin":"https:\/\/board\.example","userAgent":"tester\/1 x+","query":\{\}\}$/);
  bob.ws.send('1');
  assert.equal(await bob.nextText(), 'true', 'after its disconnect, a client has no info');
  bob.ws.send('424242');
  assert.equal(await bob.nextText(), 'true', 'an unknown client has none');
});

test('ctx.clientInfo names the user authorize admitted the client as: a string, or a JSON object', async (t) => {
  const users: Record<string, unknown> = { 'Bearer alice-key': 'alice', 'Bearer bob-key': { id: 'b1', name: 'Bob', roles: ['editor'] } };
  const { ws } = await start(
    t,
    (_roomId: string, ctx: Context) => ({
      connect: (c: ClientId) => {
        const user = ctx.clientInfo(c)?.user;
        ctx.sendMessage(c, `${JSON.stringify(user ?? '(none)')} frozen=${Object.isFrozen(user)}`);
      },
    }),
    { authorize: (request) => (request.headers.authorization === undefined ? true : { user: users[request.headers.authorization] as string }) },
  );
  const alice = await client(ws('/ws/users'), 'alice', { headers: { authorization: 'Bearer alice-key' } });
  const bob = await client(ws('/ws/users'), 'bob', { headers: { authorization: 'Bearer bob-key' } });
  const anonymous = await client(ws('/ws/users'), 'anonymous');
  t.after(() => [alice, bob, anonymous].forEach((c) => c.ws.terminate()));
  assert.equal(await alice.nextText(), '"alice" frozen=true');
  assert.equal(await bob.nextText(), '{"id":"b1","name":"Bob","roles":["editor"]} frozen=true');
  assert.equal(await anonymous.nextText(), '"(none)" frozen=true');
});

test('authorize naming a user over 4 KiB as JSON: the client gets 500, the log says SR_ERR_AUTHORIZE_INVALID and why', async (t) => {
  let connects = 0;
  const { ws, logger } = await start(t, () => ({ connect: () => void (connects += 1) }), {
    authorize: (request) => ({ user: { id: 'u', avatar: request.url?.includes('big') ? 'x'.repeat(5000) : 'small' } }),
  });
  assert.equal(await refusal(ws('/ws/users?big')), '500 authorization failed');
  const logged = await logger.waitFor((e) => e.level === 'error' && /authorize/.test(e.message), 'the authorize error');
  assert.equal((logged.fields.err as StateroomError).code, ErrorCode.AUTHORIZE_INVALID);
  assert.match(logged.message, /authorize for room "users" answered what it may not: its user is 5022 bytes as JSON, over the 4096-byte limit/);
  const small = await client(ws('/ws/users'), 'small');
  t.after(() => small.ws.terminate());
  await until(() => connects === 1, 'the small user’s connect');
});

test('ctx.clientInfo tells the query of the client’s URL, bounded, and never its resume token', async (t) => {
  const { ws } = await start(t, (_roomId: string, ctx: Context) => ({
    connect: (c: ClientId) => ctx.sendMessage(c, JSON.stringify(ctx.clientInfo(c)?.query)),
  }));
  const extra = Array.from({ length: 20 }, (_, i) => `p${i}=${i}`).join('&');
  const url = ws(`/ws/q?token=the-secret-token&lang=fr&name=Ana%20Mar%C3%ADa&${'k'.repeat(65)}=dropped&long=${'v'.repeat(300)}&lang=en&${extra}`);
  const inbox = await client(url, 'q');
  t.after(() => inbox.ws.terminate());
  const text = await inbox.nextText();
  assert.doesNotMatch(text, /the-secret-token/);
  const query = JSON.parse(text) as Record<string, string>;
  assert.deepEqual(Object.keys(query), ['lang', 'name', 'long', ...Array.from({ length: 13 }, (_, i) => `p${i}`)]);
  assert.deepEqual([query.lang, query.name, query.long], ['fr', 'Ana María', 'v'.repeat(256)]);
});

test('ctx.clientInfo behind a forwarding node: the address is the client’s, as the forwarder proved it; the query and the owner’s authorize user too', redis.options, async (t) => {
  const nodes: Array<{ close(): Promise<void> }> = [];
  t.after(() => Promise.all(nodes.map((n) => n.close())));
  const { url } = await startRedis(t);
  const Reporter: ServiceSource = (_roomId: string, ctx: Context) => ({
    connect: (c: ClientId) => ctx.sendMessage(c, JSON.stringify(ctx.clientInfo(c))),
  });
  const node = async () => {
    const port = await freePort();
    // Each node names itself in the user it admits: the one that ran authorize.
    const authorize: Authorize = (request, _roomId, { address }) => ({ user: { admittedBy: port, address, socket: request.socket.remoteAddress } });
    const server = await serve(Reporter, { port, host: '127.0.0.1', redis: url, nodeUrl: `ws://127.0.0.1:${port}`, clusterSecret: 'a-cluster-secret-of-at-least-32-characters', logLevel: 'silent', authorize });
    nodes.push(server);
    return server;
  };
  const a = await node();
  const b = await node();
  // The owner is whichever node the first client reaches; the second comes through the other,
  // from another loopback address than the forwarder's own.
  const first = await client(`ws://127.0.0.1:${a.port}/ws/fwd`, 'first');
  const owner = a.roomCount === 1 ? a : b;
  const other = owner === a ? b : a;
  const second = await client(`ws://127.0.0.1:${other.port}/ws/fwd?token=the-secret-token&team=red`, 'second', { localAddress: '127.0.0.2', headers: { origin: 'https://via.example' } });
  t.after(() => [first, second].forEach((c) => c.ws.terminate()));
  assert.equal(owner.roomCount + other.roomCount, 1, 'one instance, on the owner');
  const info = JSON.parse(await second.nextText(5_000)) as { address: string; origin: string; query: object; user: object };
  assert.equal(info.address, '127.0.0.2', 'the client’s address, not the forwarding node’s (127.0.0.1)');
  assert.equal(info.origin, 'https://via.example');
  assert.deepEqual(info.query, { team: 'red' }, 'the query as the client sent it, without its token');
  assert.deepEqual(info.user, { admittedBy: owner.port, address: '127.0.0.2', socket: '127.0.0.1' }, 'authorize ran on the owner, and was told the client’s address, not its socket’s (the forwarding node)');
});
