// The primary's reports, asked of real child processes over their IPC channel: a status costs
// a worker no metrics rendering, and a flood of status requests asks each worker one at a time.
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { test, type TestContext } from 'node:test';
import type { FromWorker } from './protocol.js';
import { Reports } from './reports.js';

/**
 * A stand-in worker: it answers each report at once, and its status counts what it was asked —
 * `rooms` the reports in all, `connections` those that asked for metrics.
 */
const WORKER = `
let asked = 0, withMetrics = 0;
process.on('message', (m) => {
  if (m.type !== 'report') return;
  asked += 1;
  if (m.what !== 'status') withMetrics += 1;
  const status = { status: 'ok', version: '', uptimeSeconds: 0, rooms: asked, connections: withMetrics };
  process.send({ type: 'report', id: m.id, report: m.what === 'status' ? { status } : { status, metrics: [] } });
});
process.send({ type: 'ready' });
`;

async function workers(t: TestContext, reports: Reports, count: number): Promise<ChildProcess[]> {
  return Promise.all(
    Array.from({ length: count }, async () => {
      const child = spawn(process.execPath, ['-e', WORKER], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
      t.after(() => child.kill());
      child.on('message', (message: FromWorker) => reports.received(message));
      await once(child, 'message', { signal: AbortSignal.timeout(5_000) });
      return child;
    }),
  );
}

const counts = (body: string): { rooms: number; connections: number; workersAnswering: number } => JSON.parse(body) as never;

test('status requests arriving together share one report of each worker, and none asks for metrics', async (t) => {
  const reports = new Reports();
  const children = await workers(t, reports, 2);
  const flood = await Promise.all(Array.from({ length: 20 }, () => reports.status(children)));
  for (const answer of flood) assert.equal(answer.body, flood[0]!.body);
  // rooms: the reports the two workers were asked in all; connections: those with metrics.
  const { rooms, connections, workersAnswering } = counts(flood[0]!.body);
  assert.deepEqual({ rooms, connections, workersAnswering }, { rooms: 2, connections: 0, workersAnswering: 2 });
  // One asked later is asked afresh.
  assert.equal(counts((await reports.status(children)).body).rooms, 4);
});
