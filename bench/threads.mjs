// Where a server's CPU goes, by thread, under one of the benchmark's loads: the server thread,
// V8's and libuv's helper threads (there once it listens: the JIT's compiler and the GC's
// helpers), and the WASM pool's guest threads (those that appear while clients connect). User
// and system seconds per 100k deliveries, read from /proc/<pid>/task/*/stat around the measured
// load alone, after the same warm-up as the benchmark's.
//
//   npm run build && node --import tsx bench/threads.mjs [scenario] [targets] [repetitions] [warm-up]
//   node --import tsx bench/threads.mjs many-rooms native,pool,inline 2   # the defaults
//   node --import tsx bench/threads.mjs latency pool:1,pool:2             # pools of 1 and 2 threads
//
// Targets: `native` (servers/stateroom.mjs), `floor` (servers/node-floor.mjs), `crossing`
// (servers/stateroom-crossing.mjs: its threads count as guests), `raw` (raw ws),
// or a WASM isolation with an optional pool size (`pool`, `pool:2`, `inline`, `worker`). The
// warm-up (messages per client before the measured load) defaults to the benchmark's.
// NOTE: a figure of one run is noisy on a shared machine; compare within alternating runs.
import { fileURLToPath } from 'node:url';
import { scenarios } from './scenarios.js';
import { secondsByGroup, threadsUnderLoad } from './thread-cpu.mjs';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const [SCENARIO = 'many-rooms', TARGETS = 'native,pool,inline', REPETITIONS = '2', WARMUP] = process.argv.slice(2);
const GROUPS = ['server', 'helpers', 'guests'];

function serverArgs(target) {
  if (target === 'native') return ['bench/servers/stateroom.mjs'];
  if (target === 'floor') return ['bench/servers/node-floor.mjs'];
  if (target === 'crossing') return ['bench/servers/stateroom-crossing.mjs'];
  if (target === 'raw') return ['bench/servers/raw-ws.mjs'];
  return ['bench/servers/stateroom-wasm.mjs', ...target.split(':')];
}

async function run(target, scenario) {
  const { rooms, clientsPerRoom, messages, window } = scenario;
  const warmup = WARMUP === undefined ? scenario.warmup : Number(WARMUP);
  const plan = { protocol: 'ws', rooms, clientsPerRoom, messages, window, warmup, deadlineMs: 120_000 };
  const measured = await threadsUnderLoad(ROOT, serverArgs(target), plan);
  const { serverPid, early } = measured;
  const seconds = secondsByGroup(measured, GROUPS, (tid) => (tid === serverPid ? 'server' : early.has(tid) ? 'helpers' : 'guests'));
  return { seconds, delivered: measured.result.delivered };
}

const scenario = scenarios(false).find((s) => s.name === SCENARIO && s.kind === 'traffic');
if (scenario === undefined) {
  console.error(`Error: unknown traffic scenario '${SCENARIO}' (broadcast, many-rooms, latency)`);
  process.exit(2);
}
const per100k = (seconds, delivered) => ((seconds / Math.max(1, delivered)) * 100_000).toFixed(3);
console.log(`${SCENARIO}: CPU seconds per 100k deliveries by thread, user + system (Node ${process.version})`);
console.log(`| target | run | ${GROUPS.join(' | ')} | all |`);
console.log(`|---|---:|${GROUPS.map(() => '---:').join('|')}|---:|`);
for (let repetition = 1; repetition <= Number(REPETITIONS); repetition++) {
  for (const target of TARGETS.split(',')) {
    const { seconds, delivered } = await run(target, scenario);
    const cells = GROUPS.map((group) => `${per100k(seconds[group][0], delivered)} + ${per100k(seconds[group][1], delivered)}`);
    const all = GROUPS.reduce((sum, group) => sum + seconds[group][0] + seconds[group][1], 0);
    console.log(`| ${target} | ${repetition} | ${cells.join(' | ')} | ${per100k(all, delivered)} |`);
  }
}
