// One measurement: one target under one scenario, once. The server and the load generator run
// as two child processes; the server's figures are read from /proc (summed over its process
// tree) around the part that is measured, never around process start or connection setup.
import { start, stop, nextJson, whileRunning, type Child } from './child.js';
import { collectGarbage, gcEnv } from './gc.js';
import type { LoadPlan, LoadResult } from './load.js';
import { cpuSeconds, directChildren, processRssKiB, processTree, rssKiB, systemCpuSeconds } from './proc.js';
import { connectionsOf, type Scenario } from './scenarios.js';
import { settledKiB, type Settled, type SettleOptions } from './settle.js';
import type { Target } from './targets.js';

export interface Measurement {
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
  readonly connections: number;
  /** Server RSS (process tree, KiB) at the end: after the load, or once settled when idle. */
  readonly serverRssKiB: number;
  /**
   * Idle only: server RSS (KiB, process tree) settled just before the first connection — the
   * baseline RSS, what the server costs before any client — and how long settling both took (ms).
   */
  readonly serverRssBeforeKiB: number;
  /** Idle only: of that, the top process alone (the primary with --workers), and how many processes the tree had. */
  readonly topRssBeforeKiB: number;
  readonly processesBefore: number;
  readonly settleMs: number;
  /** Idle only: server RSS grown per open connection, KiB. NaN for traffic scenarios. */
  readonly rssPerConnectionKiB: number;
  /**
   * Idle only: what the burst of connections left behind — server RSS {@link BURST_READ_MS}
   * after the last client opened, before any forced GC or settling, less the settled RSS before
   * the first connection — per connection, KiB. NaN for traffic scenarios.
   */
  readonly burstKiBPerConnection: number;
  /** Idle only: false when RSS was still moving when read (the bound on waiting ran out). */
  readonly rssSettled: boolean;
  /**
   * Traffic, for a server with durable rooms: the room images it saved from "go" to the last
   * delivery (its `/metrics`, `stateroom_room_saves_total{result="ok"}`); NaN for others. How
   * many saves land is set by how fast they are (at most four at once), so a server's extra CPU
   * per delivery compares only with its saves beside it.
   */
  readonly saves: number;
  /**
   * Traffic, for a server that names its parts (`{"port":N,"parts":{"owner":pid,…}}`): each
   * part's CPU seconds per 100k deliveries (the part's process tree), e.g. owner and forwarder.
   */
  readonly partsCpuPer100k?: Readonly<Record<string, number>>;
  /** The same parts' system (kernel) CPU seconds per 100k deliveries: the share of `partsCpuPer100k` spent in system calls. */
  readonly partsSystemCpuPer100k?: Readonly<Record<string, number>>;
}

export interface Failure {
  readonly failed: true;
  readonly error: string;
}

export type Outcome = Measurement | Failure;

export const isFailure = (outcome: Outcome): outcome is Failure => 'failed' in outcome;

/** A server has this long to print its port (the WASM one compiles its guest first). */
const SERVER_START_MS = 60_000;
/** The burst figure is read this long after the last client opened (issue 14's "2 s after 4,000 connects"). */
export const BURST_READ_MS = 2_000;
/** How long the load generator may take to print its result once told "go", beyond the run's own deadline. */
const ANSWER_GRACE_MS = 15_000;

export interface Settings {
  /** A run gives up after this long (then it is marked timed out). */
  readonly deadlineMs: number;
  /** Idle: how long to wait for RSS to settle before and after connecting (see settle.ts). */
  readonly idleSettle: IdleSettle;
}

export type IdleSettle = Pick<SettleOptions, 'minMs' | 'stableMs' | 'maxMs'>;

export async function measure(target: Target, scenario: Scenario, settings: Settings, root: string): Promise<Outcome> {
  try {
    return scenario.kind === 'idle'
      ? await measureIdle(target, scenario, settings, root)
      : await measureTraffic(target, scenario, settings.deadlineMs, root);
  } catch (error) {
    return { failed: true, error: error instanceof Error ? error.message : String(error) };
  }
}

/** What a server prints once it listens: its port, and the pids of its parts when it has some. */
interface Announced {
  readonly port: number;
  readonly parts?: Readonly<Record<string, number>>;
}

/**
 * Runs `body` with the server up. `measured` is the pid whose tree the figures are read from:
 * the server script's own, or for a launcher, the one process it started (the CLI); `parts`,
 * the pids of the parts a server named (owner and forwarder).
 */
async function withServer<T>(target: Target, root: string, body: (server: Child, port: number, measured: number, parts: Announced['parts']) => Promise<T>): Promise<T> {
  const server = start(target.name, [target.server, ...(target.args ?? [])], root, gcEnv());
  try {
    const { port, parts } = await nextJson<Announced>(server, SERVER_START_MS);
    return await body(server, port, target.launcher ? launched(server) : server.pid, parts);
  } finally {
    await stop(server);
  }
}

/** The process a launcher started (it has printed the port, so the process is there). */
function launched(launcher: Child): number {
  const children = directChildren(launcher.pid);
  if (children.length !== 1) throw new Error(`${launcher.what}: expected the launcher to have one child process, found ${children.length}`);
  return children[0]!;
}

/**
 * Starts the load generator and waits until every client is connected and the warm-up is
 * delivered (it then waits for "go"). The warm-up has a deadline of its own (the plan's), so
 * this waits for twice that: a warm-up that cannot finish is the generator's error to report.
 */
async function withLoad<T>(plan: LoadPlan, server: Child, root: string, body: (load: Child) => Promise<T>): Promise<T> {
  const load = start('load generator', ['--import', 'tsx', 'bench/load.ts', JSON.stringify(plan)], root);
  try {
    await whileRunning(server, nextJson<{ ready: true }>(load, 2 * plan.deadlineMs));
    return await body(load);
  } finally {
    await stop(load);
  }
}

/** Says "go" and waits for the result line, failing early if the server dies meanwhile. */
function run(load: Child, server: Child, deadlineMs: number): Promise<LoadResult> {
  const answer = nextJson<LoadResult>(load, deadlineMs + ANSWER_GRACE_MS);
  load.process.stdin!.write('go\n');
  return whileRunning(server, answer);
}

function planFor(target: Target, scenario: Scenario, port: number, deadlineMs: number): LoadPlan {
  const { rooms, clientsPerRoom, messages, window, warmup } = scenario;
  return { protocol: target.protocol, port, rooms, clientsPerRoom, messages, window, warmup, deadlineMs };
}

/** CPU of both processes from "go" to the last delivery; connection setup is not billed. */
function measureTraffic(target: Target, scenario: Scenario, deadlineMs: number, root: string): Promise<Measurement> {
  return withServer(target, root, (server, port, measured, parts) =>
    withLoad(planFor(target, scenario, port, deadlineMs), server, root, async (load) => {
      const partsCpu = (): Array<[string, number, number]> => Object.entries(parts ?? {}).map(([name, pid]) => [name, cpuSeconds(pid), systemCpuSeconds(pid)]);
      // Read outside the CPU window: the request is the server's work, not the scenario's.
      const savesBefore = await savesOf(port);
      const partsBefore = partsCpu();
      const serverBefore = cpuSeconds(measured);
      const loadBefore = cpuSeconds(load.pid);
      const result = await run(load, server, deadlineMs);
      const serverCpu = cpuSeconds(measured) - serverBefore;
      const loadCpu = cpuSeconds(load.pid) - loadBefore; // it stays up until stop()
      const partsAfter = partsCpu();
      const saves = (await savesOf(port)) - savesBefore;
      const per100k = (seconds: number): number => (seconds / Math.max(1, result.delivered)) * 100_000;
      return {
        ...(parts === undefined
          ? {}
          : {
              partsCpuPer100k: Object.fromEntries(partsAfter.map(([name, cpu], i) => [name, per100k(cpu - partsBefore[i]![1])])),
              partsSystemCpuPer100k: Object.fromEntries(partsAfter.map(([name, , system], i) => [name, per100k(system - partsBefore[i]![2])])),
            }),
        delivered: result.delivered,
        expected: result.expected,
        deliveriesPerSecond: result.delivered / result.wallSeconds,
        p50Ms: result.p50Ms,
        p99Ms: result.p99Ms,
        serverCpuPer100k: per100k(serverCpu),
        loadCpuPer100k: per100k(loadCpu),
        clientBound: loadCpu > serverCpu,
        timedOut: result.timedOut,
        connections: connectionsOf(scenario),
        serverRssKiB: rssKiB(measured),
        serverRssBeforeKiB: NaN,
        topRssBeforeKiB: NaN,
        processesBefore: NaN,
        settleMs: NaN,
        rssPerConnectionKiB: NaN,
        burstKiBPerConnection: NaN,
        rssSettled: true,
        saves,
      };
    }),
  );
}

/** Room images a stateroom server has saved so far (its `/metrics`); NaN for a server without them. */
async function savesOf(port: number): Promise<number> {
  try {
    const response = await fetch(`http://127.0.0.1:${port}/metrics`, { signal: AbortSignal.timeout(5_000) });
    const text = await response.text();
    const saved = /^stateroom_room_saves_total\{result="ok"\} (\d+)/m.exec(text);
    // A counter nothing has counted yet has its HELP line and no sample.
    if (saved === null) return text.includes('# HELP stateroom_room_saves_total ') ? 0 : NaN;
    return Number(saved[1]);
  } catch {
    return NaN;
  }
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Server RSS (process tree) once settled, with a full GC of every server process each second. */
function settledRss(pid: number, settle: IdleSettle): Promise<Settled> {
  return settledKiB(() => rssKiB(pid), { ...settle, poke: { everyMs: 1_000, run: () => collectGarbage(pid) } });
}

/**
 * Server RSS once settled with every client connected, minus the same just before the first
 * connection, per connection; and before settling, the burst's: RSS {@link BURST_READ_MS} after
 * every client is open, minus the same baseline. "go" then only confirms that every connection
 * is still open.
 */
function measureIdle(target: Target, scenario: Scenario, { deadlineMs, idleSettle }: Settings, root: string): Promise<Measurement> {
  const connections = connectionsOf(scenario);
  return withServer(target, root, async (server, port, measured) => {
    const before = await settledRss(measured, idleSettle);
    // Read with the settled total: the GCs have run in every process of the tree.
    const topRssBeforeKiB = processRssKiB(measured);
    const processesBefore = processTree(measured).length;
    return withLoad(planFor(target, scenario, port, deadlineMs), server, root, async (load) => {
      // Read as the burst left it: V8 has not been asked to collect anything yet.
      await whileRunning(server, sleep(BURST_READ_MS));
      const burst = rssKiB(measured);
      const after = await settledRss(measured, idleSettle);
      const result = await run(load, server, deadlineMs);
      if (result.open < connections) throw new Error(`only ${result.open} of ${connections} connections stayed open`);
      return {
        delivered: 0,
        expected: 0,
        deliveriesPerSecond: NaN,
        p50Ms: NaN,
        p99Ms: NaN,
        serverCpuPer100k: NaN,
        loadCpuPer100k: NaN,
        clientBound: false,
        timedOut: false,
        connections,
        serverRssKiB: after.kib,
        serverRssBeforeKiB: before.kib,
        topRssBeforeKiB,
        processesBefore,
        settleMs: before.waitedMs + after.waitedMs,
        rssPerConnectionKiB: (after.kib - before.kib) / connections,
        burstKiBPerConnection: (burst - before.kib) / connections,
        rssSettled: before.settled && after.settled,
        saves: NaN,
      };
    });
  });
}
