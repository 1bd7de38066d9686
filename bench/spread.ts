// How `stateroom serve --workers N` spreads the many-rooms load over its workers:
//   npm run build && node --import tsx bench/spread.ts [workers=2] [repetitions=3]
// Starts the CLI with --workers N, runs the many-rooms scenario against it, and prints, per
// worker, the rooms it created (from its log lines) and the CPU it used during the load (from
// /proc), plus the primary's CPU — which after the hand-over should be next to nothing.
import { fileURLToPath } from 'node:url';
import { nextJson, start, stop, whileRunning, type Child } from './child.js';
import type { LoadPlan, LoadResult } from './load.js';
import { cpuSeconds } from './proc.js';
import { scenarios } from './scenarios.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const WORKERS = Number(process.argv[2] ?? 2);
const REPETITIONS = Number(process.argv[3] ?? 3);
const DEADLINE_MS = 120_000;

interface Spread {
  readonly rooms: number[];
  readonly cpu: number[];
  readonly primaryCpu: number;
  readonly delivered: number;
}

/** Follows the server's log lines: its port, each worker's pid, the rooms each one created. */
function watch(server: Child): { port: Promise<number>; pids: number[]; rooms: number[] } {
  const pids: number[] = [];
  const rooms = new Array<number>(WORKERS).fill(0);
  const port = new Promise<number>((resolve) => {
    server.lines.on('line', (line) => {
      const ready = /"worker":(\d+),"pid":(\d+),"msg":"worker \d+ ready"/.exec(line);
      if (ready) pids[Number(ready[1])] = Number(ready[2]);
      const created = /"worker":(\d+),"roomId".*"room created"/.exec(line);
      if (created) rooms[Number(created[1])]! += 1;
      const listening = /"port":(\d+).*listening on/.exec(line);
      if (listening) resolve(Number(listening[1]));
    });
  });
  return { port, pids, rooms };
}

async function once(): Promise<Spread> {
  const args = ['dist/cli/main.js', 'serve', 'bench/servers/broadcast.ts', '--host', '127.0.0.1', '--port', '0', '--workers', String(WORKERS)];
  const server = start('server', args, ROOT);
  try {
    const { port, pids, rooms } = watch(server);
    const scenario = scenarios(false).find((s) => s.name === 'many-rooms')!;
    const plan: LoadPlan = { protocol: 'ws', port: await port, rooms: scenario.rooms, clientsPerRoom: scenario.clientsPerRoom, messages: scenario.messages, window: scenario.window, warmup: scenario.warmup, deadlineMs: DEADLINE_MS };
    const load = start('load', ['--import', 'tsx', 'bench/load.ts', JSON.stringify(plan)], ROOT);
    try {
      // Connecting, then the warm-up (its own deadline: DEADLINE_MS).
      await whileRunning(server, nextJson<{ ready: true }>(load, 2 * DEADLINE_MS));
      const before = pids.map(cpuSeconds);
      const primaryBefore = ownCpu(server.pid, pids);
      const answer = nextJson<LoadResult>(load, DEADLINE_MS + 10_000);
      load.process.stdin!.write('go\n');
      const result = await whileRunning(server, answer);
      const cpu = pids.map((pid, i) => cpuSeconds(pid) - before[i]!);
      return { rooms: [...rooms], cpu, primaryCpu: ownCpu(server.pid, pids) - primaryBefore, delivered: result.delivered };
    } finally {
      await stop(load);
    }
  } finally {
    await stop(server);
  }
}

/** The primary's own CPU: its tree's, less its workers'. */
function ownCpu(primary: number, workers: readonly number[]): number {
  return Math.max(0, cpuSeconds(primary) - workers.reduce((sum, pid) => sum + cpuSeconds(pid), 0));
}

const percent = (part: number, whole: number): string => `${((100 * part) / whole).toFixed(1)}%`;

for (let r = 1; r <= REPETITIONS; r++) {
  const { rooms, cpu, primaryCpu, delivered } = await once();
  const totalCpu = cpu.reduce((a, b) => a + b, 0);
  const totalRooms = rooms.reduce((a, b) => a + b, 0);
  const perWorker = rooms.map((n, i) => `worker ${i}: ${n} rooms (${percent(n, totalRooms)}), ${cpu[i]!.toFixed(2)} s CPU (${percent(cpu[i]!, totalCpu)})`);
  console.log(`[${r}/${REPETITIONS}] ${delivered.toLocaleString('en-US')} deliveries · ${perWorker.join(' · ')} · primary ${primaryCpu.toFixed(2)} s`);
}
