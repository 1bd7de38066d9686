// The table `npm run bench` prints: one row per scenario × target, each figure with its
// ratio to the raw `ws` baseline of the same scenario. A figure a scenario does not measure
// (deliveries and CPU when idle, RSS per connection and the burst's under traffic) shows as "—".
import type { Row } from './summary.js';

const NONE = '—';

const fmt = (value: number, digits: number): string => (Number.isFinite(value) ? value.toFixed(digits) : NONE);
const ratio = (value: number, base: number | undefined): string =>
  base !== undefined && Number.isFinite(value / base) ? `${(value / base).toFixed(2)}×` : NONE;
const withRatio = (text: string, value: number, base: number | undefined): string =>
  text === NONE ? NONE : `${text} (${ratio(value, base)})`;

/** RSS per connection with its difference to the baseline (the target is "at most +1 KiB") and ratio. */
function rssCell(value: number, base: number | undefined): string {
  if (!Number.isFinite(value)) return NONE;
  if (base === undefined || !Number.isFinite(base)) return fmt(value, 2);
  const diff = value - base;
  return `${fmt(value, 2)} (${diff >= 0 ? '+' : '−'}${Math.abs(diff).toFixed(2)}, ${ratio(value, base)})`;
}

/**
 * Idle only: RSS before the first connection, in MiB, with its ratio to the baseline's; for a
 * server of several processes, then the top one alone (the primary with --workers).
 */
function baselineCell(row: Row, base: Row | undefined): string {
  const mib = (kib: number): string => fmt(kib / 1024, 1);
  const total = withRatio(mib(row.serverRssBeforeKiB), row.serverRssBeforeKiB, base?.serverRssBeforeKiB);
  if (!(row.processesBefore > 1)) return total;
  return `${total}, ${row.processesBefore} procs; top ${mib(row.topRssBeforeKiB)} (${ratio(row.topRssBeforeKiB, base?.serverRssBeforeKiB)})`;
}

function notes(row: Row): string {
  if (row.measured === 0) return `FAILED: ${row.error ?? 'no measurement'}`;
  return [
    row.clientBound ? 'client-bound' : '',
    Number.isFinite(row.saves) ? `${Math.round(row.saves)} saves` : '',
    row.timedOut ? 'TIMED OUT' : '',
    row.rssSettled ? '' : 'RSS still moving',
    row.failures > 0 ? `${row.failures} of ${row.failures + row.measured} failed: ${row.error}` : '',
  ]
    .filter(Boolean)
    .join(', ');
}

function cells(row: Row, base: Row | undefined): string[] {
  const b = base?.measured ? base : undefined;
  const idle = row.measured > 0 && row.kind === 'idle';
  const traffic = row.measured > 0 && row.kind === 'traffic';
  const perSecond = traffic ? Math.round(row.deliveriesPerSecond).toLocaleString('en') : NONE;
  return [
    row.scenario,
    row.target,
    withRatio(perSecond, row.deliveriesPerSecond, b?.deliveriesPerSecond),
    withRatio(traffic ? fmt(row.p50Ms, 2) : NONE, row.p50Ms, b?.p50Ms),
    withRatio(traffic ? fmt(row.p99Ms, 2) : NONE, row.p99Ms, b?.p99Ms),
    withRatio(traffic ? fmt(row.serverCpuPer100k, 3) : NONE, row.serverCpuPer100k, b?.serverCpuPer100k),
    traffic ? fmt(row.loadCpuPer100k, 3) : NONE,
    idle ? rssCell(row.rssPerConnectionKiB, b?.rssPerConnectionKiB) : NONE,
    withRatio(idle ? fmt(row.burstKiBPerConnection, 2) : NONE, row.burstKiBPerConnection, b?.burstKiBPerConnection),
    idle ? baselineCell(row, b) : NONE,
    notes(row),
  ];
}

const HEADER = ['scenario', 'target', 'deliveries/s', 'p50 ms', 'p99 ms', 'server CPU s/100k', 'load CPU s/100k', 'RSS KiB/conn', 'burst KiB/conn', 'baseline RSS MiB', 'note'];

/** The table as Markdown lines, `baseline` being the target every ratio is to. */
export function formatTable(rows: readonly Row[], baseline: string): string[] {
  const body = rows.map((row) => cells(row, rows.find((r) => r.scenario === row.scenario && r.target === baseline)));
  const widths = HEADER.map((h, i) => Math.max(h.length, ...body.map((cellsOfRow) => cellsOfRow[i]!.length)));
  const line = (cellsOfRow: readonly string[]): string => `| ${cellsOfRow.map((cell, i) => cell.padEnd(widths[i]!)).join(' | ')} |`;
  return [line(HEADER), `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`, ...body.map(line)];
}
