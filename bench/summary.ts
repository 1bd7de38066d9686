// The repetitions of one target under one scenario, folded into one row: the median of each
// figure on its own, over the repetitions that produced a measurement.
import { isFailure, type Measurement, type Outcome } from './measure.js';
import type { Scenario } from './scenarios.js';

export interface Row extends Measurement {
  readonly scenario: string;
  readonly kind: Scenario['kind'];
  readonly target: string;
  /** Repetitions measured, and repetitions that failed (the server or the generator died). */
  readonly measured: number;
  readonly failures: number;
  /** The last failure's message, when there was one. */
  readonly error?: string;
}

export function median(values: readonly number[]): number {
  const sorted = values.filter((v) => !Number.isNaN(v)).sort((a, b) => a - b);
  if (sorted.length === 0) return NaN;
  return (sorted[Math.floor((sorted.length - 1) / 2)]! + sorted[Math.ceil((sorted.length - 1) / 2)]!) / 2;
}

/** True when more than half of the measurements say so. */
const most = (runs: readonly Measurement[], flag: (run: Measurement) => boolean): boolean =>
  runs.filter(flag).length * 2 > runs.length;

export function summarize(scenario: Scenario, target: string, outcomes: readonly Outcome[]): Row {
  const runs = outcomes.filter((outcome): outcome is Measurement => !isFailure(outcome));
  const failures = outcomes.filter(isFailure);
  const of = (key: keyof Measurement): number => median(runs.map((run) => Number(run[key])));
  return {
    scenario: scenario.name,
    kind: scenario.kind,
    target,
    measured: runs.length,
    failures: failures.length,
    ...(failures.length > 0 ? { error: failures.at(-1).error } : {}),
    delivered: of('delivered'),
    expected: of('expected'),
    deliveriesPerSecond: of('deliveriesPerSecond'),
    p50Ms: of('p50Ms'),
    p99Ms: of('p99Ms'),
    serverCpuPer100k: of('serverCpuPer100k'),
    loadCpuPer100k: of('loadCpuPer100k'),
    clientBound: most(runs, (run) => run.clientBound),
    timedOut: runs.some((run) => run.timedOut),
    connections: of('connections'),
    serverRssKiB: of('serverRssKiB'),
    serverRssBeforeKiB: of('serverRssBeforeKiB'),
    topRssBeforeKiB: of('topRssBeforeKiB'),
    processesBefore: of('processesBefore'),
    settleMs: of('settleMs'),
    rssPerConnectionKiB: of('rssPerConnectionKiB'),
    burstKiBPerConnection: of('burstKiBPerConnection'),
    rssSettled: runs.every((run) => run.rssSettled),
    saves: of('saves'),
    ...partsOf(runs),
  };
}

/** The median of each part's CPU (all of it, and the system part), when the runs name parts. */
function partsOf(runs: readonly Measurement[]): Pick<Measurement, 'partsCpuPer100k' | 'partsSystemCpuPer100k'> {
  const names = [...new Set(runs.flatMap((run) => Object.keys(run.partsCpuPer100k ?? {})))];
  if (names.length === 0) return {};
  const medians = (figure: (run: Measurement) => Readonly<Record<string, number>> | undefined): Record<string, number> =>
    Object.fromEntries(names.map((name) => [name, median(runs.map((run) => figure(run)?.[name] ?? NaN))]));
  return { partsCpuPer100k: medians((run) => run.partsCpuPer100k), partsSystemCpuPer100k: medians((run) => run.partsSystemCpuPer100k) };
}
