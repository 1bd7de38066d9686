// The benchmark driver: `npm run bench` (flags: `npm run bench -- --help`).
//
// For every repetition and scenario it runs each target in turn (bench/measure.ts: the server
// in one child process, the load generator in another, figures read from /proc). It prints one
// table — medians of the repetitions, each figure with its ratio to the raw `ws` baseline — and
// writes <out>/<ISO date>.json and .svg (the chart), plus <out>/latest.svg. A target that fails
// is marked in the table and the run goes on; a target that cannot run here is skipped.
import { copyFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chartOf, colorOf, renderChart } from './chart.js';
import { BURST_READ_MS, isFailure, measure, type Outcome } from './measure.js';
import { parseOptions, USAGE, UsageError, type Options } from './options.js';
import { CLOCK_TICKS } from './proc.js';
import type { Scenario } from './scenarios.js';
import { summarize, type Row } from './summary.js';
import { formatTable } from './table.js';
import { BASELINE, TARGETS, unavailable, type Target } from './targets.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));

function optionsOrExit(): Options {
  try {
    const options = parseOptions(process.argv.slice(2));
    if (options.help) {
      console.log(USAGE);
      process.exit(0);
    }
    return options;
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    console.error(`bench: ${error.message}`);
    process.exit(2);
  }
}

/** The targets that can run here; the others are named on stderr and in the results. */
function runnable(targets: readonly Target[]): { run: Target[]; skipped: Record<string, string> } {
  const skipped: Record<string, string> = {};
  const run = targets.filter((target) => {
    const reason = unavailable(target, ROOT);
    if (reason) {
      skipped[target.name] = reason;
      process.stderr.write(`skipping ${target.name}: ${reason}\n`);
    }
    return !reason;
  });
  return { run, skipped };
}

function progress(outcome: Outcome, scenario: Scenario): string {
  if (isFailure(outcome)) return `FAILED: ${outcome.error}`;
  if (scenario.kind === 'idle') return `${outcome.rssPerConnectionKiB.toFixed(2)} KiB/connection (burst ${outcome.burstKiBPerConnection.toFixed(2)}), baseline ${(outcome.serverRssBeforeKiB / 1024).toFixed(1)} MiB (top process ${(outcome.topRssBeforeKiB / 1024).toFixed(1)})`;
  return `${Math.round(outcome.deliveriesPerSecond).toLocaleString('en')} deliveries/s`;
}

async function runAll(options: Options, targets: readonly Target[]): Promise<Map<string, Outcome[]>> {
  const settings = {
    deadlineMs: options.quick ? 20_000 : 120_000,
    // With a GC each second, V8 gives back most of a burst's memory ~6.5 s after it and the
    // rest by ~9.5 s (measured on raw ws and stateroom): the full run waits that out. --quick
    // does not, so its idle figures are rough.
    idleSettle: options.quick ? { minMs: 1_000, stableMs: 1_000, maxMs: 5_000 } : { minMs: 10_000, stableMs: 2_000, maxMs: 20_000 },
  };
  const runs = new Map<string, Outcome[]>(); // key: scenario/target
  for (let repetition = 1; repetition <= options.repetitions; repetition++) {
    for (const scenario of options.scenarios) {
      // Targets take turns within a repetition, so a noisy stretch of the machine is shared.
      for (const target of targets) {
        process.stderr.write(`[${repetition}/${options.repetitions}] ${scenario.name} · ${target.name} …\n`);
        const outcome = await measure(target, scenario, settings, ROOT);
        process.stderr.write(`[${repetition}/${options.repetitions}] ${scenario.name} · ${target.name}: ${progress(outcome, scenario)}\n`);
        const key = `${scenario.name}/${target.name}`;
        runs.set(key, [...(runs.get(key) ?? []), outcome]);
      }
    }
  }
  return runs;
}

function printTable(options: Options, rows: readonly Row[], skipped: Record<string, string>): void {
  const what = options.quick ? 'Quick run' : 'Run';
  console.log(`\n${what}, median of ${options.repetitions} repetition${options.repetitions === 1 ? '' : 's'}; ratios are to ${BASELINE.name}.`);
  for (const line of formatTable(rows, BASELINE.name)) console.log(line);
  const kinds = new Set(options.scenarios.map((scenario) => scenario.kind));
  if (kinds.has('traffic')) console.log('client-bound: the load generator used more CPU than the server, so deliveries/s measures the clients.');
  if (rows.some((row) => Number.isFinite(row.saves))) console.log('saves (durable rooms): room images saved during the measured window (the server\'s /metrics); more saves, more CPU.');
  if (kinds.has('idle')) {
    console.log('RSS KiB/conn (idle only): server RSS growth per open connection; in brackets the difference to raw ws, then the ratio.');
    console.log(`burst KiB/conn (idle only): the same, read ${BURST_READ_MS / 1000} s after the last client opened, before any forced GC or settling.`);
    console.log('baseline RSS MiB (idle only): settled server RSS before the first connection, all its processes; "top": the first process alone (the --workers primary).');
  }
  for (const line of partsLines(rows)) console.log(line);
  for (const [name, reason] of Object.entries(skipped)) console.log(`skipped ${name}: ${reason}`);
}

/**
 * For a target with parts (forwarded: owner and forwarder), each part's CPU (in brackets the
 * part of it spent in the kernel), the forwarder's against the owner's, and the forwarder's
 * kernel time alone against the owner's CPU: the floor of a byte pump, which cannot do with
 * fewer system calls than one read and one write per chunk.
 */
function partsLines(rows: readonly Row[]): string[] {
  return rows.flatMap((row) => {
    const parts = row.partsCpuPer100k;
    if (parts === undefined) return [];
    const system = row.partsSystemCpuPer100k ?? {};
    const each = Object.entries(parts)
      .map(([name, cpu]) => `${name} ${cpu.toFixed(2)}${system[name] === undefined ? '' : ` (kernel ${system[name].toFixed(2)})`}`)
      .join(', ');
    const { owner, forwarder } = parts;
    const ratio = owner !== undefined && forwarder !== undefined ? `; forwarder/owner ${(forwarder / owner).toFixed(2)}×` : '';
    const floor = owner !== undefined && system.forwarder !== undefined ? `, its kernel time alone ${(system.forwarder / owner).toFixed(2)}×` : '';
    return [`${row.target} · ${row.scenario}: CPU s per 100k deliveries by part: ${each}${ratio}${floor}`];
  });
}

function versionOf(pkg: string): string | undefined {
  const file = `${ROOT}node_modules/${pkg}/package.json`;
  return existsSync(file) ? (JSON.parse(readFileSync(file, 'utf8')) as { version: string }).version : undefined;
}

function versions(): Record<string, string> {
  const packages = ['ws', 'socket.io', 'socket.io-client', ...TARGETS.flatMap((target) => target.packages ?? [])];
  return Object.fromEntries(packages.flatMap((pkg) => {
    const version = versionOf(pkg);
    return version ? [[pkg, version]] : [];
  }));
}

/** Writes <out>/<date>.json and .svg, and copies the chart to <out>/latest.svg; returns the paths written. */
function writeResults(options: Options, targets: readonly Target[], runs: Map<string, Outcome[]>, rows: readonly Row[], skipped: Record<string, string>): string[] {
  const date = new Date().toISOString();
  const outDir = path.resolve(options.outDir);
  mkdirSync(outDir, { recursive: true });
  const base = path.join(outDir, date.replace(/:/g, '-'));
  const results = {
    date,
    quick: options.quick,
    repetitions: options.repetitions,
    machine: { cpus: os.cpus().length, model: os.cpus()[0]?.model, node: process.version, clockTicks: CLOCK_TICKS },
    versions: versions(),
    baseline: BASELINE.name,
    targets: targets.map(({ key, name, server, args }) => ({ key, name, server, args: args ?? [] })),
    skipped,
    scenarios: options.scenarios,
    rows,
    runs: Object.fromEntries(runs),
  };
  writeFileSync(`${base}.json`, `${JSON.stringify(results, null, 2)}\n`);

  const series = targets.map((target) => ({ name: target.name, color: colorOf(TARGETS.indexOf(target)) }));
  const subtitle = `${options.quick ? 'quick run' : `median of ${options.repetitions}`} · ${date.slice(0, 16).replace('T', ' ')} UTC · ${os.cpus().length} CPUs · Node ${process.version}`;
  const svg = renderChart(chartOf(rows, BASELINE.name, series, 'stateroom benchmark: cost relative to raw ws', subtitle));
  writeFileSync(`${base}.svg`, svg);
  copyFileSync(`${base}.svg`, path.join(outDir, 'latest.svg'));
  return [`${base}.json`, `${base}.svg`, path.join(outDir, 'latest.svg')];
}

// ---- run ----
const options = optionsOrExit();
const started = performance.now();
const { run: targets, skipped } = runnable(options.targets);
const runs = await runAll(options, targets);
const rows = options.scenarios.flatMap((scenario) =>
  targets.map((target) => summarize(scenario, target.name, runs.get(`${scenario.name}/${target.name}`) ?? [])),
);
printTable(options, rows, skipped);
const shown = (file: string): string => (file.startsWith(ROOT) ? path.relative(ROOT, file) : file);
for (const file of writeResults(options, targets, runs, rows, skipped)) console.log(`wrote ${shown(file)}`);
console.log(`${Math.round((performance.now() - started) / 1000)} s in all`);
// Without the baseline no ratio means anything: that, and only that, fails the run.
process.exitCode = rows.some((row) => row.target === BASELINE.name && row.measured === 0) ? 1 : 0;
