// The hibernation idle clock: a room called more often than its idle time never sleeps, nor
// while a call runs however long; once quiet for the idle time it sleeps (its instance freed),
// and the next call wakes it from its image.
import assert from 'node:assert/strict';
import test from 'node:test';
import type { ServiceAdapter } from '../service/adapter.js';
import type { Context } from '../service/types.js';
import type { Logger } from '../logger.js';
import { hibernating, Sleepers } from './hibernation.js';

const AFTER_MS = 300;

/** A counter service as an adapter: its state is one number, its image that number's text. */
function counterFactory(made: { count: number; restored: string[] }) {
  return (): ServiceAdapter => {
    made.count += 1;
    let value = 0;
    return {
      init: () => undefined,
      connect: () => undefined,
      disconnect: () => undefined,
      message: () => void (value += 1),
      timer: () => undefined,
      snapshot: () => new TextEncoder().encode(String(value)),
      restore: (image) => {
        made.restored.push(new TextDecoder().decode(image));
        value = Number(new TextDecoder().decode(image));
      },
    };
  };
}

async function until(what: string, done: () => boolean, timeoutMs = 5_000): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!done()) {
    if (performance.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

async function start(): Promise<{ adapter: ServiceAdapter; sleepers: Sleepers; made: { count: number; restored: string[] } }> {
  const made = { count: 0, restored: [] as string[] };
  const sleepers = new Sleepers();
  const factory = hibernating(counterFactory(made), AFTER_MS, sleepers);
  const adapter = await factory('room', {} as Context, {} as Logger, () => {});
  await adapter.init();
  return { adapter, sleepers, made };
}

test('a room called more often than its idle time stays awake; quiet for it, it sleeps; the next call wakes it as it was', async () => {
  const { adapter, sleepers, made } = await start();
  const until1s = performance.now() + 1_000;
  let quietFrom = 0;
  let sent = 0;
  while (performance.now() < until1s) {
    await new Promise((resolve) => setTimeout(resolve, 10));
    assert.equal(sleepers.count, 0, 'asleep while called every 10 ms');
    await adapter.message(1, 'x');
    sent += 1;
    quietFrom = performance.now();
  }
  await until('the room to sleep', () => sleepers.count === 1);
  assert.ok(performance.now() - quietFrom >= AFTER_MS - 5, 'slept before its idle time');
  assert.equal(made.restored.length, 0);
  await adapter.message(1, 'x');
  assert.equal(sleepers.count, 0, 'woken');
  assert.equal(made.count, 2, 'a new instance');
  assert.deepEqual(made.restored, [String(sent)], 'restored from its image');
  await adapter.dispose?.();
});

test('no sleep while a call runs, however long; the idle time counts from its end', async () => {
  const sleepers = new Sleepers();
  let finish!: () => void;
  const slowTimer = (): ServiceAdapter => ({ ...counterFactory({ count: 0, restored: [] })(), timer: () => new Promise<void>((resolve) => (finish = resolve)) });
  const room = await hibernating(slowTimer, AFTER_MS, sleepers)('slow', {} as Context, {} as Logger, () => {});
  await room.init();
  const running = room.timer();
  // Twice the idle time with the call under way: the room must not sleep meanwhile.
  await new Promise((resolve) => setTimeout(resolve, AFTER_MS * 2));
  assert.equal(sleepers.count, 0, 'asleep during a call');
  const ended = performance.now();
  finish();
  await running;
  await until('the room to sleep after its call', () => sleepers.count === 1);
  assert.ok(performance.now() - ended >= AFTER_MS - 5, "the idle time counted from the call's end");
  await room.dispose?.();
});

test('a call that throws or rejects still ends: the room sleeps once quiet', async () => {
  const sleepers = new Sleepers();
  const failing = (): ServiceAdapter => ({
    ...counterFactory({ count: 0, restored: [] })(),
    message: () => {
      throw new Error('kaboom');
    },
    timer: () => Promise.reject(new Error('kaboom later')),
  });
  const room = await hibernating(failing, AFTER_MS, sleepers)('failing', {} as Context, {} as Logger, () => {});
  await room.init();
  assert.throws(() => room.message(1, 'x'), /kaboom/);
  await assert.rejects(Promise.resolve(room.timer()), /kaboom later/);
  await until('the room to sleep after its failed calls', () => sleepers.count === 1);
  await room.dispose?.();
});

test('a wake whose new instance cannot be made fails as that failure, not as a bad image; a failed restore is the image\'s', async () => {
  const { StateroomError, ErrorCode } = await import('../errors.js');
  for (const [fault, code] of [
    ['make', ErrorCode.WASM_START],
    ['restore', ErrorCode.RESTORE_FAILED],
  ] as const) {
    const made = { count: 0, restored: [] as string[] };
    const counter = counterFactory(made);
    const factory = hibernating(
      () => {
        if (made.count === 1 && fault === 'make') throw new StateroomError(ErrorCode.WASM_START, 'guest instance did not start within 5000 ms');
        const adapter = counter();
        if (made.count === 2 && fault === 'restore') adapter.restore = () => Promise.reject(new Error('not an image of mine'));
        return adapter;
      },
      AFTER_MS,
      new Sleepers(),
    );
    const adapter = await factory('room', {} as Context, {} as Logger, () => {});
    await adapter.init();
    await adapter.message(1, 'x');
    await until('the room to sleep', () => adapter.asleep === true);
    await assert.rejects(Promise.resolve(adapter.message(1, 'x')), (err: unknown) => err instanceof StateroomError && err.code === code, `${fault}: ${code}`);
  }
});
