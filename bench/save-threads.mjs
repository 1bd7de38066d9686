// Where a WASM room's save spends its CPU inside a real server (issue 13's durable-rooms bar):
// the benchmark's many-rooms load (400 rooms x 4 clients, 200 messages each, bench/load.ts)
// against `servers/stateroom-wasm.mjs <isolation>` with and without `durable`, back to back,
// reading each server thread's CPU from /proc/<pid>/task/*/stat around the load alone. The
// durable server's extra CPU of each kind of thread, over the plain one's in the same pair,
// divided by the saves in the window (its /metrics), is the CPU per save that thread pays.
//
//   npm run build && node bench/save-threads.mjs [pairs] [isolations]   # default: 3 pool,inline
//
// Node names none of its threads, so they are told apart by when they appear: the threads there
// once the server listens (V8's platform workers — its GC helpers — and libuv's pool), those that
// appear while the clients connect (the WASM pool's threads), and those that appear during the
// load (the state directory's writer thread, started by the first save). A figure of one pair is
// noisy (the machine is shared; the two servers' deliveries batch differently): read the spread.
/* global fetch, AbortSignal -- Node 20 has both */
import { fileURLToPath } from 'node:url';
import { secondsByGroup, threadsUnderLoad } from './thread-cpu.mjs';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const PAIRS = Number(process.argv[2] ?? 3);
const ISOLATIONS = (process.argv[3] ?? 'pool,inline').split(',');
const GROUPS = ['main', 'helpers', 'pool', 'writer'];

async function savesOf(port) {
  const text = await (await fetch(`http://127.0.0.1:${port}/metrics`, { signal: AbortSignal.timeout(5_000) })).text();
  return Number(/^stateroom_room_saves_total\{result="ok"\} (\d+)/m.exec(text)?.[1] ?? 0);
}

/** One load against one server: seconds of CPU per group of threads, and the saves in the window. */
async function run(args) {
  const plan = { protocol: 'ws', rooms: 400, clientsPerRoom: 4, messages: 200, window: 4, deadlineMs: 120_000 };
  const measured = await threadsUnderLoad(ROOT, ['bench/servers/stateroom-wasm.mjs', ...args], plan, { beforeGo: savesOf, afterResult: savesOf });
  const { serverPid, early, before, result } = measured;
  const byGroup = secondsByGroup(measured, GROUPS, (tid) => (tid === serverPid ? 'main' : early.has(tid) ? 'helpers' : before.has(tid) ? 'pool' : 'writer'));
  const seconds = Object.fromEntries(GROUPS.map((group) => [group, byGroup[group][0] + byGroup[group][1]]));
  return { seconds, saves: measured.afterValue - measured.beforeValue, delivered: result.delivered };
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const ms = (x) => x.toFixed(2);
console.log(`${PAIRS} pairs per isolation; extra CPU of the durable server per save, in ms, by thread (Node ${process.version})`);
console.log(`| isolation | pair | saves | ${GROUPS.join(' | ')} | all |`);
console.log(`|---|---:|---:|${GROUPS.map(() => '---:').join('|')}|---:|`);
for (const isolation of ISOLATIONS) {
  const perSave = [];
  for (let pair = 1; pair <= PAIRS; pair++) {
    const durable = await run([isolation, 'durable']);
    const plain = await run([isolation]);
    const row = Object.fromEntries(GROUPS.map((group) => [group, ((durable.seconds[group] - plain.seconds[group]) * 1000) / Math.max(1, durable.saves)]));
    row.all = GROUPS.reduce((sum, group) => sum + row[group], 0);
    perSave.push(row);
    console.log(`| ${isolation} | ${pair} | ${durable.saves} | ${GROUPS.map((group) => ms(row[group])).join(' | ')} | ${ms(row.all)} |`);
  }
  console.log(`| ${isolation} | median | | ${[...GROUPS, 'all'].map((group) => ms(median(perSave.map((row) => row[group])))).join(' | ')} |`);
}
