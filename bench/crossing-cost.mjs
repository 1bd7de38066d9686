// What one thread crossing costs on this machine, alone: the server thread asks a worker
// thread (asleep in Atomics.wait) for an answer through shared memory and waits for it — in
// Atomics.wait (`block`), spinning on Atomics.load (`spin`) or with Atomics.waitAsync, as a
// server that must keep serving does (`async`, the WASM pool's way). Prints the process's CPU
// per round trip, all threads, beyond `gap` µs of busy work between round trips (the server's
// own work on a message; the thread sleeps through it, as it does between real calls).
//   node bench/crossing-cost.mjs [block|spin|async] [gap µs, default 20] [round trips, default 20000]
// The benchmark's `crossing-floor` target measures the same inside a real server; this shows
// the floor with nothing else in it.
import { Worker } from 'node:worker_threads';

const MODES = ['block', 'spin', 'async'];
const mode = process.argv[2] ?? 'async';
const gapUs = Number(process.argv[3] ?? 20);
const count = Number(process.argv[4] ?? 20_000);
if (!MODES.includes(mode) || !(gapUs >= 0) || !(count >= 1)) {
  console.error(`usage: node bench/crossing-cost.mjs [${MODES.join('|')}] [gap µs ≥ 0] [round trips ≥ 1]`);
  process.exit(2);
}

// cells[0]: the newest request, cells[1]: the newest answer; the far side is the crossing
// floor's thread, which answers each request the moment it sees it.
const cells = new Int32Array(new SharedArrayBuffer(8));
const thread = new Worker(new URL('./servers/crossing-thread.mjs', import.meta.url), { workerData: cells.buffer });
await new Promise((resolve) => thread.once('online', resolve));

const busy = (us) => {
  const end = process.hrtime.bigint() + BigInt(Math.round(us * 1000));
  while (process.hrtime.bigint() < end);
};
const cpuUs = (since) => {
  const { user, system } = process.cpuUsage(since);
  return user + system;
};

async function answered(seq) {
  while (Atomics.load(cells, 1) !== seq) {
    if (mode === 'block') Atomics.wait(cells, 1, seq - 1, 1_000);
    else if (mode === 'async') {
      const wait = Atomics.waitAsync(cells, 1, seq - 1, 1_000);
      if (wait.async) await wait.value;
    }
  }
}

let start = process.cpuUsage();
for (let i = 0; i < count; i++) busy(gapUs);
const gapCpu = cpuUs(start);
start = process.cpuUsage();
const wallStart = process.hrtime.bigint();
for (let seq = 1; seq <= count; seq++) {
  busy(gapUs);
  Atomics.store(cells, 0, seq);
  Atomics.notify(cells, 0);
  await answered(seq);
}
const perTrip = (cpuUs(start) - gapCpu) / count;
const wallPerTrip = Number(process.hrtime.bigint() - wallStart) / 1e3 / count - gapUs;
console.log(`${mode}, gap ${gapUs} µs: ${perTrip.toFixed(1)} µs of CPU per round trip beyond the gap (wall ${wallPerTrip.toFixed(1)} µs), ${count} round trips`);
await thread.terminate(); // it sleeps in Atomics.wait, which terminate() ends
