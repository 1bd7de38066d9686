// The benchmark driver: `npm run bench` (or `npm run bench -- --quick`).
//
// For every scenario and repetition it runs each target in turn: the server in one child
// process, the load generator (bench/load.ts) in another, both on 127.0.0.1. Server CPU is
// read from /proc around the load only (the generator waits for "go" once connected). It
// prints one table — medians of the repetitions, each figure with its ratio to the raw `ws`
// baseline — and writes bench/results/<ISO date>.json.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { createInterface, type Interface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import type { LoadPlan, LoadResult } from './load.js';
import { CLOCK_TICKS, cpuSeconds } from './proc.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const quick = process.argv.includes('--quick');

interface Target {
  readonly name: string;
  readonly server: string;
  readonly args?: readonly string[];
  readonly protocol: LoadPlan['protocol'];
}

/** The raw `ws` baseline comes first: every ratio is against it. Colyseus is left out (not installable here). */
const TARGETS: readonly Target[] = [
  { name: 'raw ws', server: 'bench/servers/raw-ws.mjs', protocol: 'ws' },
  { name: 'stateroom', server: 'bench/servers/stateroom.mjs', protocol: 'ws' },
  { name: 'stateroom wasm', server: 'bench/servers/stateroom-wasm.mjs', args: ['worker'], protocol: 'ws' },
  { name: 'wasm inline', server: 'bench/servers/stateroom-wasm.mjs', args: ['inline'], protocol: 'ws' },
  { name: 'socket.io', server: 'bench/servers/socketio.mjs', protocol: 'socketio' },
];

interface Scenario {
  readonly name: string;
  readonly rooms: number;
  readonly clientsPerRoom: number;
  readonly messages: number;
  readonly window: number;
}

const SCENARIOS: readonly Scenario[] = [
  { name: 'broadcast', rooms: 1, clientsPerRoom: 32, messages: quick ? 100 : 2_000, window: 16 },
  { name: 'many-rooms', rooms: 400, clientsPerRoom: 4, messages: quick ? 20 : 200, window: 4 },
];
const REPETITIONS = quick ? 1 : 3;
const DEADLINE_MS = quick ? 20_000 : 120_000;

interface Measurement {
  /** Messages received by all clients, and how many the scenario sends out. */
  readonly delivered: number;
  readonly expected: number;
  readonly deliveriesPerSecond: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  /** Server CPU seconds per 100k deliveries: the figure that decides. */
  readonly serverCpuPer100k: number;
  readonly loadCpuPer100k: number;
  /** The load generator used more CPU than the server: deliveries/s measures the clients. */
  readonly clientBound: boolean;
  readonly timedOut: boolean;
}

/** Resolves with the first stdout line of `child` that parses as JSON. */
function nextJson<T>(lines: Interface, child: ChildProcess, what: string): Promise<T> {
  return new Promise((resolve, reject) => {
    const onLine = (line: string): void => {
      if (!line.startsWith('{')) return;
      lines.off('line', onLine);
      child.off('exit', onExit);
      resolve(JSON.parse(line) as T);
    };
    const onExit = (code: number | null): void => reject(new Error(`${what} exited (${code}) before answering`));
    lines.on('line', onLine);
    child.once('exit', onExit);
  });
}

function start(args: readonly string[]): { child: ChildProcess; lines: Interface } {
  const child = spawn(process.execPath, args, { cwd: ROOT, stdio: ['pipe', 'pipe', 'inherit'] });
  // Drained to the end, so a chatty child never blocks on a full pipe.
  const lines = createInterface({ input: child.stdout! });
  return { child, lines };
}

async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 3_000);
  await exited;
  clearTimeout(timer);
}

async function measure(target: Target, scenario: Scenario): Promise<Measurement> {
  const server = start([target.server, ...(target.args ?? [])]);
  let load: ReturnType<typeof start> | undefined;
  try {
    const { port } = await nextJson<{ port: number }>(server.lines, server.child, target.name);
    const plan: LoadPlan = { protocol: target.protocol, port, ...scenario, deadlineMs: DEADLINE_MS };
    load = start(['--import', 'tsx', 'bench/load.ts', JSON.stringify(plan)]);
    await nextJson<{ ready: true }>(load.lines, load.child, 'load generator');
    const serverBefore = cpuSeconds(server.child.pid!);
    const loadBefore = cpuSeconds(load.child.pid!);
    const answer = nextJson<LoadResult>(load.lines, load.child, 'load generator');
    load.child.stdin!.write('go\n');
    const result = await answer;
    const serverCpu = cpuSeconds(server.child.pid!) - serverBefore;
    const loadCpu = cpuSeconds(load.child.pid!) - loadBefore; // it stays up until stop()
    const per100k = (seconds: number): number => (seconds / Math.max(1, result.delivered)) * 100_000;
    return {
      delivered: result.delivered,
      expected: result.expected,
      deliveriesPerSecond: result.delivered / result.wallSeconds,
      p50Ms: result.p50Ms,
      p99Ms: result.p99Ms,
      serverCpuPer100k: per100k(serverCpu),
      loadCpuPer100k: per100k(loadCpu),
      clientBound: loadCpu > serverCpu,
      timedOut: result.timedOut,
    };
  } finally {
    if (load) await stop(load.child);
    await stop(server.child);
  }
}

const median = (values: readonly number[]): number => {
  const sorted = values.filter((v) => !Number.isNaN(v)).sort((a, b) => a - b);
  return sorted.length === 0 ? NaN : (sorted[Math.floor((sorted.length - 1) / 2)]! + sorted[Math.ceil((sorted.length - 1) / 2)]!) / 2;
};

/** The median of each metric on its own; a run counts as client-bound when most repetitions were. */
function summarize(runs: readonly Measurement[]): Measurement {
  const of = (key: keyof Measurement): number => median(runs.map((run) => Number(run[key])));
  return {
    delivered: of('delivered'),
    expected: of('expected'),
    deliveriesPerSecond: of('deliveriesPerSecond'),
    p50Ms: of('p50Ms'),
    p99Ms: of('p99Ms'),
    serverCpuPer100k: of('serverCpuPer100k'),
    loadCpuPer100k: of('loadCpuPer100k'),
    clientBound: runs.filter((run) => run.clientBound).length * 2 > runs.length,
    timedOut: runs.some((run) => run.timedOut),
  };
}

// ---- run ----
const runs = new Map<string, Measurement[]>(); // key: scenario/target
for (let repetition = 1; repetition <= REPETITIONS; repetition++) {
  for (const scenario of SCENARIOS) {
    // Targets take turns within a repetition, so a noisy stretch of the machine is shared.
    for (const target of TARGETS) {
      process.stderr.write(`[${repetition}/${REPETITIONS}] ${scenario.name} · ${target.name} … `);
      const measurement = await measure(target, scenario);
      process.stderr.write(`${Math.round(measurement.deliveriesPerSecond).toLocaleString('en')} deliveries/s\n`);
      const key = `${scenario.name}/${target.name}`;
      runs.set(key, [...(runs.get(key) ?? []), measurement]);
    }
  }
}

// ---- table ----
const fmt = (value: number, digits: number): string => (Number.isFinite(value) ? value.toFixed(digits) : '–');
const ratio = (value: number, base: number): string => (Number.isFinite(value / base) ? `${(value / base).toFixed(2)}×` : '–');
const header = ['scenario', 'target', 'deliveries/s', 'p50 ms', 'p99 ms', 'server CPU s/100k', 'load CPU s/100k', 'note'];
const rows: string[][] = [];
const medians: Record<string, Record<string, Measurement>> = {};
for (const scenario of SCENARIOS) {
  medians[scenario.name] = {};
  const base = summarize(runs.get(`${scenario.name}/${TARGETS[0]!.name}`)!);
  for (const target of TARGETS) {
    const m = summarize(runs.get(`${scenario.name}/${target.name}`)!);
    medians[scenario.name]![target.name] = m;
    const notes = [m.clientBound ? 'client-bound' : '', m.timedOut ? 'TIMED OUT' : ''].filter(Boolean).join(', ');
    rows.push([
      scenario.name,
      target.name,
      `${Math.round(m.deliveriesPerSecond).toLocaleString('en')} (${ratio(m.deliveriesPerSecond, base.deliveriesPerSecond)})`,
      `${fmt(m.p50Ms, 2)} (${ratio(m.p50Ms, base.p50Ms)})`,
      `${fmt(m.p99Ms, 2)} (${ratio(m.p99Ms, base.p99Ms)})`,
      `${fmt(m.serverCpuPer100k, 3)} (${ratio(m.serverCpuPer100k, base.serverCpuPer100k)})`,
      fmt(m.loadCpuPer100k, 3),
      notes,
    ]);
  }
}
const widths = header.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i]!.length)));
const line = (cells: readonly string[]): string => `| ${cells.map((cell, i) => cell.padEnd(widths[i]!)).join(' | ')} |`;
console.log(`\n${quick ? 'Quick run (1 repetition, few messages)' : `Median of ${REPETITIONS} repetitions`}; ratios are to raw ws.`);
console.log(line(header));
console.log(`|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`);
for (const row of rows) console.log(line(row));
console.log('client-bound: the load generator used more CPU than the server, so deliveries/s measures the clients.');

// ---- results file ----
const versionOf = (pkg: string): string =>
  (JSON.parse(readFileSync(`${ROOT}node_modules/${pkg}/package.json`, 'utf8')) as { version: string }).version;
const date = new Date().toISOString();
mkdirSync(`${ROOT}bench/results`, { recursive: true });
const file = `bench/results/${date.replace(/:/g, '-')}.json`;
writeFileSync(
  `${ROOT}${file}`,
  `${JSON.stringify(
    {
      date,
      quick,
      repetitions: REPETITIONS,
      machine: { cpus: os.cpus().length, model: os.cpus()[0]?.model, node: process.version, clockTicks: CLOCK_TICKS },
      versions: { ws: versionOf('ws'), 'socket.io': versionOf('socket.io'), 'socket.io-client': versionOf('socket.io-client') },
      scenarios: SCENARIOS,
      medians,
      runs: Object.fromEntries(runs),
    },
    null,
    2,
  )}\n`,
);
console.log(`wrote ${file}`);
