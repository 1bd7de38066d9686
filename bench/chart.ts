// The benchmark's chart, written by hand as SVG (no dependency): one group of horizontal bars
// per scenario, one bar per target, each bar the target's cost as a ratio to raw `ws` in the
// same scenario, with the 1.0 line marked. It has its own white background and system fonts,
// so it reads the same on GitHub in light and dark mode.
import type { Row } from './summary.js';

export interface Series {
  readonly name: string;
  readonly color: string;
}

export interface ChartBar {
  readonly target: string;
  /** Cost relative to the baseline; NaN when there is none (then `missing` says why). */
  readonly ratio: number;
  readonly missing?: string;
}

export interface ChartGroup {
  readonly title: string;
  readonly bars: readonly ChartBar[];
}

export interface Chart {
  readonly title: string;
  readonly subtitle: string;
  readonly series: readonly Series[];
  readonly groups: readonly ChartGroup[];
}

/** Which figure stands for a scenario in the chart, and how to name it. */
interface Metric {
  readonly key: 'serverCpuPer100k' | 'p50Ms' | 'rssPerConnectionKiB';
  readonly label: string;
  readonly unit: (value: number) => string;
}

const CPU: Metric = { key: 'serverCpuPer100k', label: 'server CPU per delivery', unit: (v) => `${v.toFixed(3)} s/100k` };
/** latency exists to measure the round trip; idle has no deliveries, only memory. */
const METRIC_OF: Readonly<Record<string, Metric>> = {
  latency: { key: 'p50Ms', label: 'p50 round trip', unit: (v) => `${v.toFixed(2)} ms` },
  idle: { key: 'rssPerConnectionKiB', label: 'server RSS per idle connection', unit: (v) => `${v.toFixed(2)} KiB` },
};

/** Color-blind-safe (Okabe–Ito), the baseline in grey; indexed by a target's place in the full list. */
const PALETTE = ['#8c8c8c', '#0072B2', '#56B4E9', '#009E73', '#E69F00', '#CC79A7', '#D55E00', '#332288', '#F0E442'];
export const colorOf = (index: number): string => PALETTE[index % PALETTE.length]!;

/** The chart of a run: groups in scenario order, bars in target order. */
export function chartOf(rows: readonly Row[], baseline: string, series: readonly Series[], title: string, subtitle: string): Chart {
  const scenarioNames = [...new Set(rows.map((row) => row.scenario))];
  const groups = scenarioNames.map((scenario): ChartGroup => {
    const metric = METRIC_OF[scenario] ?? CPU;
    const base = rows.find((row) => row.scenario === scenario && row.target === baseline);
    const baseValue = base?.[metric.key] ?? NaN;
    const bars = series.map(({ name }): ChartBar => {
      const row = rows.find((r) => r.scenario === scenario && r.target === name);
      if (!row || row.measured === 0) return { target: name, ratio: NaN, missing: 'failed' };
      if (!Number.isFinite(baseValue) || baseValue <= 0) return { target: name, ratio: NaN, missing: 'no baseline' };
      return { target: name, ratio: row[metric.key] / baseValue };
    });
    const baseText = Number.isFinite(baseValue) ? ` (${baseline}: ${metric.unit(baseValue)})` : '';
    return { title: `${scenario} — ${metric.label}${baseText}`, bars };
  });
  return { title, subtitle, series, groups };
}

// ---- rendering ----

const WIDTH = 900;
const PLOT_LEFT = 150;
const PLOT_RIGHT = WIDTH - 110;
const BAR_HEIGHT = 14;
const BAR_PITCH = 19;
const GROUP_TITLE = 26;
const GROUP_GAP = 14;
const FONT = `font-family="system-ui, -apple-system, 'Segoe UI', Helvetica, Arial, sans-serif"`;
/** Past this the axis would squash the bars that matter (those near 1); longer bars are cut and marked. */
const MAX_AXIS = 4;

const escape = (text: string): string =>
  text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

function text(x: number, y: number, content: string, attributes = ''): string {
  return `<text x="${x.toFixed(1)}" y="${y.toFixed(1)}" ${attributes}>${escape(content)}</text>`;
}

/** The axis runs from 0 to a multiple of 0.5 just past the largest ratio (at least 1.5, at most MAX_AXIS). */
function axisMaxOf(groups: readonly ChartGroup[]): number {
  const ratios = groups.flatMap((group) => group.bars.map((bar) => bar.ratio)).filter(Number.isFinite);
  const largest = Math.max(1.5, ...ratios.map((r) => r * 1.05));
  return Math.min(MAX_AXIS, Math.ceil(largest * 2) / 2);
}

/** Legend entries laid out left to right, wrapping; returns the SVG and the height used. */
function legend(series: readonly Series[], top: number): { svg: string[]; height: number } {
  const svg: string[] = [];
  let x = PLOT_LEFT;
  let y = top;
  for (const { name, color } of series) {
    const width = 22 + name.length * 7 + 18;
    if (x + width > WIDTH - 20) {
      x = PLOT_LEFT;
      y += 20;
    }
    svg.push(`<rect x="${x}" y="${y - 10}" width="14" height="14" rx="2" fill="${color}"/>`);
    svg.push(text(x + 20, y + 1, name, 'font-size="12" fill="#222"'));
    x += width;
  }
  return { svg, height: y - top + 24 };
}

function bar(bar: ChartBar, color: string, y: number, scale: (ratio: number) => number, axisMax: number): string[] {
  const labelY = y + BAR_HEIGHT - 3;
  const svg = [text(PLOT_LEFT - 8, labelY, bar.target, 'font-size="12" fill="#222" text-anchor="end"')];
  if (!Number.isFinite(bar.ratio)) {
    svg.push(text(PLOT_LEFT + 6, labelY, bar.missing ?? 'n/a', 'font-size="12" fill="#999" font-style="italic"'));
    return svg;
  }
  const cut = bar.ratio > axisMax;
  const end = scale(Math.min(bar.ratio, axisMax));
  svg.push(`<rect x="${PLOT_LEFT}" y="${y}" width="${Math.max(1, end - PLOT_LEFT).toFixed(1)}" height="${BAR_HEIGHT}" fill="${color}"/>`);
  const label = `${bar.ratio.toFixed(2)}×`;
  // The white halo keeps a value readable where it crosses the 1.0 line.
  if (!cut) return [...svg, text(end + 6, labelY, label, 'font-size="12" fill="#222" stroke="#fff" stroke-width="3" paint-order="stroke"')];
  // Cut at the axis end: a white chevron marks the cut, the true value is written inside the bar.
  svg.push(`<path d="M${end - 6},${y - 2} l6,${BAR_HEIGHT / 2 + 2} l-6,${BAR_HEIGHT / 2 + 2}" fill="none" stroke="#fff" stroke-width="2"/>`);
  svg.push(text(end - 12, labelY, `${label} (off scale)`, 'font-size="12" font-weight="600" fill="#fff" text-anchor="end"'));
  return svg;
}

export function renderChart(chart: Chart): string {
  const axisMax = axisMaxOf(chart.groups);
  const scale = (ratio: number): number => PLOT_LEFT + (ratio / axisMax) * (PLOT_RIGHT - PLOT_LEFT);
  const colorOfTarget = new Map(chart.series.map((s) => [s.name, s.color]));
  const head = [
    text(20, 30, chart.title, 'font-size="17" font-weight="600" fill="#111"'),
    text(20, 50, chart.subtitle, 'font-size="12" fill="#555"'),
  ];
  const key = legend(chart.series, 78);
  const plotTop = 78 + key.height;

  const body: string[] = [];
  let y = plotTop;
  for (const group of chart.groups) {
    body.push(text(20, y + 16, group.title, 'font-size="13" font-weight="600" fill="#111" stroke="#fff" stroke-width="4" paint-order="stroke"'));
    y += GROUP_TITLE;
    for (const each of group.bars) {
      body.push(...bar(each, colorOfTarget.get(each.target) ?? '#888', y, scale, axisMax));
      y += BAR_PITCH;
    }
    y += GROUP_GAP;
  }
  const plotBottom = y - GROUP_GAP + 4;

  const grid: string[] = [];
  for (let tick = 0; tick <= axisMax + 1e-9; tick += 0.5) {
    const x = scale(tick).toFixed(1);
    grid.push(`<line x1="${x}" y1="${plotTop}" x2="${x}" y2="${plotBottom}" stroke="#e6e6e6"/>`);
    grid.push(text(Number(x), plotBottom + 16, `${tick.toFixed(1)}×`, 'font-size="11" fill="#555" text-anchor="middle"'));
  }
  const one = scale(1).toFixed(1);
  const baseline = [
    `<line x1="${one}" y1="${plotTop - 6}" x2="${one}" y2="${plotBottom}" stroke="#c0392b" stroke-width="1.5" stroke-dasharray="5 3"/>`,
    text(Number(one) + 4, plotTop - 8, 'raw ws = 1.0×', 'font-size="11" fill="#c0392b"'),
  ];
  const caption = text((PLOT_LEFT + PLOT_RIGHT) / 2, plotBottom + 36, 'ratio to raw ws in the same scenario — lower is better', 'font-size="12" fill="#333" text-anchor="middle"');
  const height = Math.ceil(plotBottom + 52);

  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${height}" viewBox="0 0 ${WIDTH} ${height}" ${FONT}>`,
    `<rect width="${WIDTH}" height="${height}" rx="6" fill="#fff"/>`,
    ...head,
    ...key.svg,
    ...grid,
    ...baseline,
    ...body,
    caption,
    '</svg>',
    '',
  ].join('\n');
}
