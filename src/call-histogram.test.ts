// The call histogram reads, in a scrape and in a --workers aggregate, exactly as prom-client's
// own Histogram fed the same observations.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { AggregatorRegistry, Histogram, Registry, type Metric } from 'prom-client';
import { CallHistogram } from './call-histogram.js';

const NAME = 'stateroom_call_duration_seconds';
const HELP = 'Duration of service calls, by callback.';
const BOUNDS = [0.0001, 0.0005, 0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5];
const OBSERVED: Array<[string, number]> = [
  ['message', 0.00005],
  ['message', 0.0001], // on a bound: counted in it
  ['message', 0.003],
  ['connect', 0.2],
  ['message', 7], // past every bound: only +Inf
  ['timer', 0.0004],
];

function registries(): { ours: Registry; theirs: Registry } {
  const ours = new Registry();
  const calls = new CallHistogram(NAME, HELP, BOUNDS);
  ours.registerMetric(calls as unknown as Metric);
  const theirs = new Registry();
  const histogram = new Histogram({ name: NAME, help: HELP, labelNames: ['callback'], buckets: BOUNDS, registers: [theirs] });
  for (const [callback, seconds] of OBSERVED) {
    calls.observe(callback, seconds);
    histogram.labels(callback).observe(seconds);
  }
  return { ours, theirs };
}

test('a scrape of the call histogram is the text of a prom-client Histogram with the same observations', async () => {
  const { ours, theirs } = registries();
  assert.equal(await ours.metrics(), await theirs.metrics());
  assert.match(await ours.metrics(), /^stateroom_call_duration_seconds_bucket\{le="0.0001",callback="message"\} 2$/m);
});

test('summed over workers (AggregatorRegistry) it is too', async () => {
  const a = registries();
  const b = registries();
  const ours = AggregatorRegistry.aggregate([await a.ours.getMetricsAsJSON(), await b.ours.getMetricsAsJSON()]);
  const theirs = AggregatorRegistry.aggregate([await a.theirs.getMetricsAsJSON(), await b.theirs.getMetricsAsJSON()]);
  assert.equal(await ours.metrics(), await theirs.metrics());
  assert.match(await ours.metrics(), /^stateroom_call_duration_seconds_count\{callback="message"\} 8$/m);
});
