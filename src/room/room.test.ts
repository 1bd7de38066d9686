import assert from 'node:assert/strict';
import { test } from 'node:test';
import { within } from '../../test/helpers/deadline.js';
import { MemoryLogger } from '../../test/helpers/logs.js';
import { nativeAdapterFactory } from '../service/native.js';
import type { ClientId, Context, Payload, Service, ServiceSource } from '../service/types.js';
import { ErrorCode, StateroomError } from '../errors.js';
import { NO_RESUME, Room, type ClientSink, type RoomOptions } from './room.js';
import { MAX_REMEMBERED_TOKENS } from './seats.js';

class Sink implements ClientSink {
  readonly got: Payload[] = [];
  closedWith: [number, string] | undefined;
  send(payload: Payload): void {
    this.got.push(payload);
  }
  close(code: number, reason: string): void {
    this.closedWith = [code, reason];
  }
}

const noHooks = { onEmpty: () => {}, onFailed: () => {} };

function roomOf(source: ServiceSource, log = new MemoryLogger(), hooks = noHooks, options: RoomOptions = NO_RESUME): Room {
  return new Room('r', nativeAdapterFactory(source), hooks, log, options);
}

/** Joins and returns just the client id. */
const join = (room: Room, sink: ClientSink): number => room.join(sink).client;

/** Resolves after `count` turns of the event loop have passed: for "nothing happened" checks. */
const turns = async (count: number): Promise<void> => {
  for (let i = 0; i < count; i++) await new Promise((r) => setImmediate(r));
};

test('init runs before the first connect, and client ids count up from 1', () => {
  const events: string[] = [];
  const room = roomOf(
    class implements Service {
      init(): void {
        events.push('init');
      }
      connect(client: ClientId): void {
        events.push(`connect ${client}`);
      }
    },
  );
  assert.equal(join(room, new Sink()), 1);
  assert.equal(join(room, new Sink()), 2);
  assert.deepEqual(events, ['init', 'connect 1', 'connect 2']);
});

test('client ids are never reused while the room lives', () => {
  const room = roomOf(class {});
  const sink = new Sink();
  const first = join(room, sink);
  room.leave(first, sink);
  assert.equal(join(room, new Sink()), first + 1);
});

test('an async callback holds back the next event until it settles', async () => {
  const events: string[] = [];
  let release!: () => void;
  const gate = new Promise<void>((r) => (release = r));
  const room = roomOf(
    class implements Service {
      async message(client: ClientId, payload: Payload): Promise<void> {
        events.push(`start ${String(payload)}`);
        if (payload === 'slow') await gate;
        events.push(`end ${String(payload)}`);
      }
    },
  );
  const sinkA = new Sink();
  const a = join(room, sinkA);
  room.message(a, 'slow', sinkA);
  room.message(a, 'fast', sinkA);
  await turns(3);
  assert.deepEqual(events, ['start slow'], 'fast must wait for slow');
  release();
  await turns(3);
  assert.deepEqual(events, ['start slow', 'end slow', 'start fast', 'end fast']);
});

test('a throwing callback is logged with room and client, and the room goes on', async () => {
  const log = new MemoryLogger();
  const sink = new Sink();
  const room = roomOf(
    class implements Service {
      message(client: ClientId, payload: Payload, ctx: Context): void {
        if (payload === 'boom') throw new Error('kaboom');
        ctx.sendMessage(client, `ok ${String(payload)}`);
      }
      async timer(): Promise<void> {
        throw new Error('async kaboom');
      }
    },
    log,
  );
  const a = join(room, sink);
  room.message(a, 'boom', sink);
  room.message(a, 'after', sink);
  assert.deepEqual(sink.got, ['ok after']);
  const entry = log.entries.find((e) => e.level === 'error');
  assert.ok(entry, 'the throw was logged');
  assert.equal(entry.fields.roomId, 'r');
  assert.equal(entry.fields.clientId, a);
  assert.match(entry.message, /message\(\).*room "r", client 1.*kaboom/);
  room.context.setTimer(0);
  await within(log.waitFor((e) => /timer\(\).*async kaboom/.test(e.message), 'the rejected timer logged'), 'log');
});

test('sendMessage reaches one client, everyone, or everyone but one', () => {
  const sinks = [new Sink(), new Sink(), new Sink()];
  let ctx!: Context;
  const room = roomOf((_id, c) => ((ctx = c), {}));
  const [a, b] = sinks.map((s) => join(room, s)) as [number, number, number];
  ctx.sendMessage(b, 'to b');
  ctx.sendMessage('broadcast', 'to all');
  ctx.sendMessage({ except: a }, 'not a');
  ctx.sendMessage(99, 'nobody'); // a client that is not here: dropped, as upstream does
  assert.deepEqual(sinks.map((s) => s.got), [['to all'], ['to b', 'to all', 'not a'], ['to all', 'not a']]);
});

test('a client that left receives nothing more, and its disconnect is delivered', () => {
  const events: string[] = [];
  const sink = new Sink();
  let ctx!: Context;
  const room = roomOf((_id, c) => {
    ctx = c;
    return { disconnect: (client: ClientId) => void events.push(`disconnect ${client}`) };
  });
  const a = join(room, sink);
  room.leave(a, sink);
  ctx.sendMessage('broadcast', 'late');
  assert.deepEqual(sink.got, []);
  assert.deepEqual(events, ['disconnect 1']);
});

test('bad recipients and payloads are refused with SR_ERR_BAD_SEND', () => {
  let ctx!: Context;
  roomOf((_id, c) => ((ctx = c), {}));
  const send = ctx.sendMessage as (r: unknown, p: unknown) => void;
  assert.throws(() => send(0, 'x'), { code: 'SR_ERR_BAD_SEND' });
  assert.throws(() => send({ except: -1 }, 'x'), { code: 'SR_ERR_BAD_SEND' });
  assert.throws(() => send('everyone', 'x'), { code: 'SR_ERR_BAD_SEND' });
  assert.throws(() => send('broadcast', { text: 'x' }), /Uint8Array/);
  assert.throws(() => ctx.setTimer(-1), { code: 'SR_ERR_BAD_TIMER' });
  assert.throws(() => ctx.setTimer(Number.NaN), { code: 'SR_ERR_BAD_TIMER' });
});

test('setTimer(0) fires on a later turn, not inside the call', async () => {
  let fired = 0;
  let ctx!: Context;
  roomOf((_id, c) => ((ctx = c), { timer: () => void (fired += 1) }));
  ctx.setTimer(0);
  assert.equal(fired, 0);
  await within(
    new Promise<void>((resolve) => {
      const poll = (): void => (fired > 0 ? resolve() : void setImmediate(poll));
      poll();
    }),
    'the zero timer',
  );
  assert.equal(fired, 1);
});

test('a new setTimer replaces the outstanding one, and clearTimer cancels it', async () => {
  const fired: string[] = [];
  let ctx!: Context;
  let label = '';
  let sawTimer!: () => void;
  const done = new Promise<void>((r) => (sawTimer = r));
  roomOf((_id, c) => {
    ctx = c;
    return {
      timer: () => {
        fired.push(label);
        sawTimer();
      },
    };
  });
  label = 'first';
  ctx.setTimer(5);
  ctx.setTimer(30); // replaces the 5 ms one
  label = 'second';
  await within(done, 'the replacing timer');
  assert.deepEqual(fired, ['second']);
  ctx.setTimer(5);
  ctx.clearTimer();
  await new Promise((r) => setTimeout(r, 40)); // longer than the cancelled timer's delay
  assert.deepEqual(fired, ['second'], 'the cancelled timer must not fire');
});

test('delays longer than one setTimeout step are chained, not fired early', async () => {
  let firedAt = 0;
  let fired!: () => void;
  const done = new Promise<void>((r) => (fired = r));
  let ctx!: Context;
  // A 10 ms step stands in for setTimeout's 2^31 - 1 ms limit.
  roomOf((_id, c) => ((ctx = c), { timer: () => ((firedAt = performance.now()), fired()) }), undefined, noHooks, {
    ...NO_RESUME,
    timerMaxStepMs: 10,
  });
  const start = performance.now();
  ctx.setTimer(45);
  await within(done, 'the chained timer');
  assert.ok(firedAt - start >= 44, `fired after ${firedAt - start} ms, wanted >= 45`);
});

test('a delay past setTimeout\'s limit does not fire at once', async () => {
  let fired = false;
  let ctx!: Context;
  const room = roomOf((_id, c) => ((ctx = c), { timer: () => void (fired = true) }));
  ctx.setTimer(2 ** 31 + 5_000);
  await new Promise((r) => setTimeout(r, 20)); // Node fires an over-long setTimeout after 1 ms
  assert.equal(fired, false);
  await room.dispose();
});

test('a factory that throws fails the room: its clients are closed with 1011 and it is reported', () => {
  const log = new MemoryLogger();
  let failed = false;
  const room = roomOf(
    () => {
      throw new Error('no database');
    },
    log,
    { onEmpty: () => {}, onFailed: () => void (failed = true) },
  );
  const sink = new Sink();
  join(room, sink);
  assert.equal(failed, true);
  assert.equal(room.live, false);
  assert.deepEqual(sink.closedWith, [1011, 'room service failed to start']);
  assert.match(log.entries[0]?.message ?? '', /could not be created.*no database/);
});

test('an async factory that rejects closes the clients that joined meanwhile', async () => {
  const room = roomOf(async () => {
    await turns(1);
    throw new Error('late failure');
  });
  const sink = new Sink();
  join(room, sink);
  await turns(4);
  assert.deepEqual(sink.closedWith, [1011, 'room service failed to start']);
});

test('dispose waits for queued events, then stops the timer', async () => {
  const events: string[] = [];
  let ctx!: Context;
  const room = roomOf((_id, c) => {
    ctx = c;
    return {
      message: async (_client: ClientId, p: Payload) => {
        await turns(1);
        events.push(String(p));
      },
      timer: () => void events.push('timer'),
    };
  });
  const sinkA = new Sink();
  const a = join(room, sinkA);
  room.message(a, 'one', sinkA);
  room.message(a, 'two', sinkA);
  ctx.setTimer(0);
  await within(room.dispose(), 'dispose');
  assert.deepEqual(events.slice(0, 2), ['one', 'two']);
  const before = events.length;
  await new Promise((r) => setTimeout(r, 10));
  assert.equal(events.length, before, 'nothing runs after dispose');
});

test('a dispose queued behind a call that then fails the room still completes', async () => {
  let fail!: (error: Error) => void;
  const room = new Room(
    'r',
    () => ({
      init: () => {},
      connect: () => {},
      disconnect: () => {},
      timer: () => {},
      message: () =>
        new Promise<void>((_, reject) => {
          fail = reject;
        }),
    }),
    noHooks,
    new MemoryLogger(),
  );
  const sinkA = new Sink();
  const a = join(room, sinkA);
  room.message(a, 'slow', sinkA);
  const disposed = room.dispose();
  fail(new StateroomError(ErrorCode.WASM_TRAP, 'trapped'));
  await within(disposed, 'dispose to settle after the room failed');
  assert.equal(room.live, false);
});

test('a socket that no longer holds its seat is not heard: no message after disconnect, none from a replaced socket', () => {
  const heard: string[] = [];
  const room = roomOf(() => ({ message: (c: ClientId, p: Payload) => void heard.push(`${c}:${String(p)}`) }), undefined, noHooks, {
    resumeGraceMs: 0,
    resumeBufferBytes: 0,
  });
  const first = new Sink();
  const a = room.join(first, { token: 't' }).client;
  const second = new Sink();
  room.join(second, { token: 't' }); // replaces the first socket
  room.message(a, 'from the replaced socket', first);
  room.message(a, 'from the new socket', second);
  room.leave(a, second);
  room.message(a, 'after leaving', second);
  assert.deepEqual(heard, [`${a}:from the new socket`]);
});

test('resume buffers count every message, so even empty ones are trimmed', () => {
  const room = roomOf(() => ({}), undefined, noHooks, { resumeGraceMs: 1_000, resumeBufferBytes: 1_600 });
  const sink = new Sink();
  const a = room.join(sink, { token: 'e' }).client;
  room.leave(a, sink);
  // 100 empty messages cost 16 bytes each: the seat keeps them, but not 10 000.
  for (let i = 0; i < 10_000; i++) room.context.sendMessage('broadcast', '');
  assert.equal(room.resumable({ token: 'e', received: 0 }), false, 'the tail was trimmed');
  assert.equal(room.resumable({ token: 'e', received: 10_000 - 100 }), true);
  void room.dispose();
});

test('an adapter that takes messages in batches gets each run of queued messages as one call; other events split runs', async () => {
  const calls: string[] = [];
  let release: () => void = () => {};
  const adapter = {
    init: () => undefined,
    connect: (client: ClientId) => void calls.push(`connect ${client}`),
    disconnect: (client: ClientId) => void calls.push(`disconnect ${client}`),
    message: (client: ClientId, payload: Payload) => void calls.push(`message ${client}:${String(payload)}`),
    timer: () => undefined,
    messages: (batch: ReadonlyArray<{ client: ClientId; payload: Payload }>) => {
      calls.push(`batch ${batch.map((m) => `${m.client}:${String(m.payload)}`).join(' ')}`);
      // The first batch holds the room, so what arrives meanwhile queues up behind it.
      if (calls.length === 2) return new Promise<void>((resolve) => (release = resolve));
      return undefined;
    },
  };
  const room = new Room('r', () => adapter, noHooks, new MemoryLogger());
  const [a, b] = [new Sink(), new Sink()];
  const ca = join(room, a);
  room.message(ca, 'one', a);
  room.message(ca, 'two', a);
  room.message(ca, 'three', a);
  const cb = join(room, b);
  room.message(cb, 'four', b);
  room.message(ca, 'five', a);
  release();
  await within(
    (async () => {
      while (calls.length < 5) await turns(1);
    })(),
    'the queued events to run',
  );
  assert.deepEqual(calls, ['connect 1', 'batch 1:one', 'batch 1:two 1:three', 'connect 2', 'batch 2:four 1:five']);
});

test('a token keeps its client id while the room lives, and ever new tokens do not grow the room without bound', () => {
  const room = roomOf(() => ({}), undefined, noHooks, { resumeGraceMs: 0, resumeBufferBytes: 0 });
  const keeper = new Sink();
  const kept = room.join(keeper, { token: 'seated' }).client; // seated all along: never forgotten
  const first = new Sink();
  const early = room.join(first, { token: 'early' }).client;
  room.leave(early, first);
  assert.equal(room.join(new Sink(), { token: 'early' }).client, early, 'the same token, the same id');
  for (let i = 0; i < MAX_REMEMBERED_TOKENS + 10; i++) {
    const sink = new Sink();
    room.leave(room.join(sink, { token: `churn-${i}` }).client, sink);
  }
  const after = room.join(new Sink(), { token: 'churn-0' }).client;
  assert.ok(after > MAX_REMEMBERED_TOKENS, `the oldest token was forgotten: a new id (${after})`);
  const recent = `churn-${MAX_REMEMBERED_TOKENS + 9}`;
  const sink = new Sink();
  const id = room.join(sink, { token: recent }).client;
  assert.equal(id, MAX_REMEMBERED_TOKENS + 12, 'a recent token keeps its id');
  room.leave(kept, keeper);
  void room.dispose();
});

test('a snapshot asked for during an async callback waits for it: never half an event', async () => {
  let release = (): void => {};
  const gate = new Promise<void>((resolve) => (release = resolve));
  const room = roomOf(
    class implements Service {
      steps: string[] = [];
      async message(_client: ClientId, payload: Payload): Promise<void> {
        this.steps.push(`begin ${String(payload)}`);
        await gate;
        this.steps.push(`end ${String(payload)}`);
      }
      snapshot(): string {
        return this.steps.join(',');
      }
    },
  );
  const sink = new Sink();
  const client = join(room, sink);
  room.message(client, 'a', sink);
  const taken = room.snapshot();
  let settled = false;
  void taken.then(() => (settled = true));
  await turns(3);
  assert.equal(settled, false, 'the snapshot waits for the callback in flight');
  release();
  const state = await within(taken, 'the snapshot');
  assert.equal(Buffer.from(state?.body ?? []).subarray(1).toString(), 'begin a,end a');
  assert.deepEqual(state?.clients, [client]);
  assert.equal(state?.lastClientId, client);
});

test('abandon stops the room at once: clients closed with the code, nothing more runs, no snapshot', async () => {
  const events: string[] = [];
  const room = roomOf(
    class implements Service {
      message(): void {
        events.push('message');
      }
      disconnect(): void {
        events.push('disconnect');
      }
      snapshot(): string {
        events.push('snapshot');
        return '';
      }
    },
  );
  const sink = new Sink();
  const client = join(room, sink);
  await room.abandon(1012, 'room moved');
  room.message(client, 'late', sink);
  assert.deepEqual(sink.closedWith, [1012, 'room moved']);
  assert.equal(room.live, false);
  assert.equal(await room.snapshot(), undefined);
  assert.deepEqual(events, []);
});

test('many clients closed for piling messages up write one line, and the rest are counted', () => {
  const log = new MemoryLogger();
  // Its first message never finishes: everything after waits for the room.
  const room = new Room('r', () => ({ init: () => {}, connect: () => {}, disconnect: () => {}, timer: () => {}, message: () => new Promise<void>(() => {}) }), noHooks, log, {
    ...NO_RESUME,
    maxQueuedBytes: 100,
  });
  const sinks = Array.from({ length: 20 }, () => new Sink());
  for (const sink of sinks) {
    const client = join(room, sink);
    for (let i = 0; i < 3; i++) room.message(client, 'x'.repeat(60), sink);
  }
  assert.deepEqual(new Set(sinks.map((sink) => sink.closedWith?.[0])), new Set([1013]));
  assert.equal(log.entries.filter((e) => /too many of its messages wait/.test(e.message)).length, 1);
});
