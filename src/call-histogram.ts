/**
 * `stateroom_call_duration_seconds`: how long service calls take, by callback. Every event a
 * room runs is observed, so observing must cost next to nothing: prom-client's
 * `Histogram.observe` builds a label object, validates and hashes it on each call (about 4 %
 * of the server's CPU in the benchmark's many-rooms). Here an observation is a walk over the
 * bucket bounds and three additions on plain numbers; prom-client reads the series only when
 * scraped, through `Registry.registerMetric`, in the form its own histograms have (and with
 * the `sum` aggregator, so the `--workers` primary adds the workers' up).
 * @module
 */

/** One callback's observations: a count per bucket (not cumulative), the sum and the count. */
interface Series {
  readonly buckets: number[];
  sum: number;
  count: number;
}

/** A value of a metric as prom-client's registries read it. */
interface MetricValue {
  readonly labels: Record<string, string | number>;
  readonly value: number;
  readonly metricName: string;
}

export class CallHistogram {
  readonly type = 'histogram';
  readonly aggregator = 'sum';
  private readonly series = new Map<string, Series>();

  /** `bounds`: the buckets' upper bounds in seconds, ascending. */
  constructor(
    readonly name: string,
    readonly help: string,
    private readonly bounds: readonly number[],
  ) {}

  /** Records a call of `callback` that took `seconds`. */
  observe(callback: string, seconds: number): void {
    let series = this.series.get(callback);
    if (series === undefined) {
      series = { buckets: new Array<number>(this.bounds.length).fill(0), sum: 0, count: 0 };
      this.series.set(callback, series);
    }
    const { bounds } = this;
    for (let i = 0; i < bounds.length; i++) {
      if (seconds <= bounds[i]!) {
        series.buckets[i]! += 1;
        break;
      }
    }
    series.sum += seconds;
    series.count += 1;
  }

  /** What prom-client reads when scraped: cumulative buckets, `+Inf`, `_sum` and `_count` per callback. */
  get(): Promise<{ name: string; help: string; type: 'histogram'; aggregator: 'sum'; values: MetricValue[] }> {
    const values: MetricValue[] = [];
    for (const [callback, { buckets, sum, count }] of this.series) {
      let cumulative = 0;
      this.bounds.forEach((le, i) => {
        cumulative += buckets[i]!;
        values.push({ labels: { le, callback }, value: cumulative, metricName: `${this.name}_bucket` });
      });
      values.push({ labels: { le: '+Inf', callback }, value: count, metricName: `${this.name}_bucket` });
      values.push({ labels: { callback }, value: sum, metricName: `${this.name}_sum` });
      values.push({ labels: { callback }, value: count, metricName: `${this.name}_count` });
    }
    return Promise.resolve({ name: this.name, help: this.help, type: this.type, aggregator: this.aggregator, values });
  }

  /** prom-client's `Registry.resetMetrics()` calls it. */
  reset(): void {
    this.series.clear();
  }
}
