// Smoke test of the benchmark harness (bench/run.ts): a --quick run of raw ws and stateroom
// over every scenario, as `npm run bench` runs it, into a temporary directory. It checks that
// the harness works end to end — table, JSON, chart — not how fast anything is.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { ROOT } from './helpers/cli.js';
import { needRedis } from './helpers/redis.js';

/** Longer than a quick run of two targets takes on 2 busy cores (~15 s), short enough for the suite. */
const HARD_TIMEOUT_MS = 90_000;
const SCENARIOS = ['broadcast', 'many-rooms', 'latency', 'idle'];
const TARGETS = ['raw ws', 'stateroom'];

interface Row {
  scenario: string;
  kind: 'traffic' | 'idle';
  target: string;
  measured: number;
  delivered: number;
  deliveriesPerSecond: number | null;
  p50Ms: number | null;
  p99Ms: number | null;
  serverCpuPer100k: number | null;
  rssPerConnectionKiB: number | null;
  burstKiBPerConnection: number | null;
  serverRssBeforeKiB: number | null;
  topRssBeforeKiB: number | null;
}

/** Runs the harness in its own process group, so a run that hangs is killed with its servers and load generator. */
async function runBench(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'bench/run.ts', ...args], { cwd: ROOT, detached: true });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (data: Buffer) => (stdout += data.toString()));
  child.stderr.on('data', (data: Buffer) => (stderr += data.toString()));
  const timer = setTimeout(() => process.kill(-child.pid!, 'SIGKILL'), HARD_TIMEOUT_MS);
  const [code] = (await once(child, 'exit')) as [number | null];
  clearTimeout(timer);
  return { code, stdout, stderr };
}

const positive = (value: number | null, what: string): void =>
  assert.ok(typeof value === 'number' && Number.isFinite(value) && value > 0, `${what} is a positive number, not ${value}`);

test('npm run bench -- --quick runs every scenario, prints the table, writes the JSON and the chart', { timeout: HARD_TIMEOUT_MS + 10_000 }, async (t) => {
  const out = await mkdtemp(path.join(tmpdir(), 'stateroom-bench-test-'));
  t.after(() => rm(out, { recursive: true, force: true }));

  const { code, stdout, stderr } = await runBench(['--quick', '--targets', 'raw-ws,stateroom', '--repetitions', '1', '--out', out]);
  assert.equal(code, 0, `bench exited ${code}\n${stderr.slice(-2_000)}`);
  assert.match(stdout, /\| scenario +\| target +\| deliveries\/s/);
  assert.match(stdout, /\| RSS KiB\/conn +\| burst KiB\/conn +\| baseline RSS MiB +\|/);
  for (const scenario of SCENARIOS) {
    for (const target of TARGETS) assert.match(stdout, new RegExp(`\\| ${scenario} +\\| ${target} +\\|`), `a table row for ${scenario} · ${target}`);
  }

  const files = await readdir(out);
  const json = files.find((file) => file.endsWith('.json'));
  assert.ok(json, `a JSON file in ${files.join(', ')}`);
  assert.ok(files.includes(json.replace(/\.json$/, '.svg')), 'the chart beside the JSON');
  assert.ok(files.includes('latest.svg'), 'latest.svg');
  assert.match(await readFile(path.join(out, 'latest.svg'), 'utf8'), /^<svg [^>]*xmlns="http:\/\/www\.w3\.org\/2000\/svg"/);

  const { rows } = JSON.parse(await readFile(path.join(out, json), 'utf8')) as { rows: Row[] };
  assert.deepEqual(
    rows.map((row) => `${row.scenario}/${row.target}`).sort(),
    SCENARIOS.flatMap((scenario) => TARGETS.map((target) => `${scenario}/${target}`)).sort(),
  );
  for (const row of rows) {
    const what = `${row.scenario} · ${row.target}`;
    assert.equal(row.measured, 1, `${what} was measured`);
    if (row.kind === 'idle') {
      positive(row.rssPerConnectionKiB, `${what}: RSS per connection`);
      positive(row.burstKiBPerConnection, `${what}: RSS per connection 2 s after the burst`);
      positive(row.serverRssBeforeKiB, `${what}: baseline RSS`);
      positive(row.topRssBeforeKiB, `${what}: baseline RSS of the top process`);
    } else {
      positive(row.delivered, `${what}: deliveries`);
      positive(row.deliveriesPerSecond, `${what}: deliveries/s`);
      positive(row.p50Ms, `${what}: p50`);
      positive(row.p99Ms, `${what}: p99`);
      positive(row.serverCpuPer100k, `${what}: server CPU`);
    }
  }
});

test('npm run bench names the valid targets when given an unknown one', async () => {
  const { code, stderr } = await runBench(['--targets', 'raw-ws,nonesuch']);
  assert.equal(code, 2);
  assert.match(stderr, /unknown targets: nonesuch; valid targets: raw-ws, stateroom/);
});

test("the forwarded target: clients through a forwarding node, each part's CPU read and compared", { ...(await needRedis()).options, timeout: HARD_TIMEOUT_MS + 10_000 }, async (t) => {
  const out = await mkdtemp(path.join(tmpdir(), 'stateroom-bench-test-'));
  t.after(() => rm(out, { recursive: true, force: true }));
  const { code, stdout, stderr } = await runBench(['--quick', '--targets', 'forwarded', '--scenarios', 'latency', '--out', out]);
  assert.equal(code, 0, `bench exited ${code}\n${stderr.slice(-2_000)}`);
  assert.match(stdout, /\| latency +\| forwarded +\| [\d,]+ /, 'a measured row');
  assert.match(
    stdout,
    /forwarded · latency: CPU s per 100k deliveries by part: owner [\d.]+ \(kernel [\d.]+\), forwarder [\d.]+ \(kernel [\d.]+\); forwarder\/owner [\d.]+×, its kernel time alone [\d.]+×/,
  );
  const json = (await readdir(out)).find((file) => file.endsWith('.json'))!;
  const { rows } = JSON.parse(await readFile(path.join(out, json), 'utf8')) as {
    rows: Array<Row & { partsCpuPer100k?: Record<string, number>; partsSystemCpuPer100k?: Record<string, number> }>;
  };
  const row = rows.find((r) => r.target === 'forwarded');
  positive(row?.partsCpuPer100k?.owner ?? null, 'the owner part');
  positive(row?.partsCpuPer100k?.forwarder ?? null, 'the forwarder part');
  for (const part of ['owner', 'forwarder']) {
    // A quick run bills few clock ticks: the kernel part may be 0, but never more than the whole.
    const system = row?.partsSystemCpuPer100k?.[part];
    assert.ok(system !== undefined && system >= 0 && system <= row!.partsCpuPer100k![part]!, `the ${part}'s kernel time (${system}) is part of its CPU`);
  }
});

test('the floor targets (node: no ws, its own frame reader; crossing: a bare thread crossing per event batch) serve the scenarios the ratios rest on', { timeout: HARD_TIMEOUT_MS }, async (t) => {
  const out = await mkdtemp(path.join(tmpdir(), 'stateroom-bench-test-'));
  t.after(() => rm(out, { recursive: true, force: true }));
  const { code, stdout, stderr } = await runBench(['--quick', '--targets', 'node-floor,crossing-floor', '--scenarios', 'many-rooms,latency', '--out', out]);
  assert.equal(code, 0, `bench exited ${code}\n${stderr.slice(-2_000)}`);
  for (const target of ['node floor', 'crossing floor']) {
    for (const scenario of ['many-rooms', 'latency']) assert.match(stdout, new RegExp(`\\| ${scenario} +\\| ${target} +\\| [\\d,]+ \\(`), `a measured row for ${target} in ${scenario}`);
  }
});
