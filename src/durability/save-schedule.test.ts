// The save schedule: a room falls due in the last fifth of the snapshot interval after its first
// unsaved change, never later than the interval; rooms changed together fall due together (a
// few ticks, each handing over its rooms in one turn); a room unscheduled never falls due.
import assert from 'node:assert/strict';
import test from 'node:test';
import { SaveSchedule } from './save-schedule.js';

const INTERVAL_MS = 200;

/** Resolves with what falls due, grouped by the turn it fell due in, once `count` keys have. */
function collect(count: number): { schedule: SaveSchedule<number>; groups: Promise<Array<Array<[number, number]>>> } {
  const groups: Array<Array<[number, number]>> = [];
  let open: Array<[number, number]> | undefined;
  let seen = 0;
  let done!: (value: Array<Array<[number, number]>>) => void;
  const finished = new Promise<Array<Array<[number, number]>>>((resolve) => (done = resolve));
  const schedule = new SaveSchedule<number>(INTERVAL_MS, (key, since) => {
    if (open === undefined) {
      groups.push((open = []));
      setImmediate(() => (open = undefined));
    }
    open.push([key, since]);
    if (++seen === count) done(groups);
  });
  // The schedule's timer does not hold the process open; this one does, until the keys fell due.
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error('keys did not fall due within 5 s')), 5_000)));
  return { schedule, groups: Promise.race([finished, timeout]).finally(() => clearTimeout(timer)) };
}

test('a key falls due in the last fifth of the interval, no later than the interval, with since when it changed', async () => {
  const { schedule, groups } = collect(50);
  const now = performance.now();
  for (let key = 0; key < 50; key++) {
    const due = schedule.add(key, now)!;
    assert.ok(due >= now + INTERVAL_MS * 0.8 && due <= now + INTERVAL_MS, `due ${due - now} ms after the change`);
  }
  assert.equal(schedule.add(0, now), undefined, 'a key scheduled already keeps its time');
  assert.equal(schedule.size, 50);
  const fell = (await groups).flat();
  assert.equal(fell.length, 50);
  assert.ok(performance.now() - now >= INTERVAL_MS * 0.8);
  assert.deepEqual(new Set(fell.map(([, since]) => since)), new Set([now]));
  assert.equal(schedule.size, 0);
});

test('keys changed at one moment fall due together: a few ticks, each in one turn', async () => {
  const { schedule, groups } = collect(200);
  const now = performance.now();
  for (let key = 0; key < 200; key++) schedule.add(key, now);
  const fell = await groups;
  assert.ok(fell.length <= 3, `${fell.length} groups`);
  assert.deepEqual(fell.flat().map(([key]) => key).sort((a, b) => a - b), Array.from({ length: 200 }, (_, i) => i));
});

test('a key deleted or cleared does not fall due; the others do', async () => {
  const { schedule, groups } = collect(2);
  for (let key = 0; key < 5; key++) schedule.add(key);
  assert.equal(schedule.delete(1), true);
  assert.equal(schedule.delete(1), false);
  schedule.delete(2);
  schedule.delete(3);
  assert.deepEqual([...schedule.entries()].map(([key]) => key).sort(), [0, 4]);
  assert.deepEqual((await groups).flat().map(([key]) => key).sort(), [0, 4]);
  // A deleted key must not fall due on a later tick either: every tick of the interval has passed.
  const lateCalls: number[] = [];
  const watched = new SaveSchedule<number>(INTERVAL_MS, (key) => lateCalls.push(key));
  watched.add(1);
  watched.add(2);
  watched.delete(2);
  await new Promise((resolve) => setTimeout(resolve, INTERVAL_MS * 1.5));
  assert.deepEqual(lateCalls, [1]);
  schedule.add(7);
  schedule.clear();
  assert.equal(schedule.has(7), false);
  assert.equal(schedule.size, 0);
});

test('an interval shorter than five ticks: a key still falls due no later than the interval', () => {
  const schedule = new SaveSchedule<number>(15, () => {});
  const now = performance.now();
  for (let key = 0; key < 20; key++) assert.ok(schedule.add(key, now)! <= now + 15);
  schedule.clear();
});
