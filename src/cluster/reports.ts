/**
 * `/status?format=json` and `/metrics` for a cluster: the primary asks every worker for its
 * status (and, for `/metrics` only, its metrics) over IPC and adds them up (prom-client's `AggregatorRegistry.aggregate`
 * merges the metrics), so one scrape sees the whole server rather than one worker of it.
 * @module
 */
import type { ChildProcess } from 'node:child_process';
import type { WorkerReport } from '../serve.js';
import { CachedRender } from '../transport/metrics-endpoint.js';
import { VERSION } from '../version.js';
import type { FromWorker, ReportKind, ToWorker } from './protocol.js';

/** How long the primary waits for a worker's report; a worker that is late is left out. */
const REPORT_TIMEOUT_MS = 2_000;

/** An HTTP answer: its status, content type and body. */
export interface Answer {
  readonly status: number;
  readonly contentType: string;
  readonly body: string;
}

export class Reports {
  private nextId = 0;
  private readonly waiting = new Map<number, (report: WorkerReport) => void>();
  private readonly startedAt = Date.now();
  /** The cluster's metrics, gathered at most once a second however often they are scraped. */
  private metricsCache: CachedRender | undefined;
  private metricsOf: readonly ChildProcess[] = [];
  /** The status being gathered now, which requests arriving meanwhile share. */
  private statusAsked: Promise<Answer> | undefined;

  /** Takes a worker's message; true when it was a report. */
  received(message: FromWorker): boolean {
    if (message.type !== 'report') return false;
    this.waiting.get(message.id)?.(message.report);
    return true;
  }

  /**
   * The whole cluster's `/status?format=json`. Requests that arrive while the workers are
   * being asked share that answer: a flood of them asks each worker one status at a time.
   */
  status(workers: readonly ChildProcess[]): Promise<Answer> {
    this.statusAsked ??= this.gatherStatus(workers).finally(() => (this.statusAsked = undefined));
    return this.statusAsked;
  }

  private async gatherStatus(workers: readonly ChildProcess[]): Promise<Answer> {
    const reports = await this.gather(workers, 'status');
    const sum = (field: 'rooms' | 'connections'): number => reports.reduce((total, r) => total + r.status[field], 0);
    const body = {
      status: 'ok',
      version: VERSION,
      uptimeSeconds: Math.round((Date.now() - this.startedAt) / 1000),
      rooms: sum('rooms'),
      connections: sum('connections'),
      ...durability(reports),
      workers: workers.length,
      workersAnswering: reports.length,
    };
    return { status: 200, contentType: 'application/json', body: JSON.stringify(body) };
  }

  /**
   * The whole cluster's `/metrics`: counters summed, gauges as prom-client aggregates them.
   * Cached for a second: a scrape costs every worker a rendering, and a flood of scrapes
   * must not raise every room's latency.
   */
  async metrics(workers: readonly ChildProcess[]): Promise<Answer> {
    this.metricsOf = workers;
    this.metricsCache ??= new CachedRender(async () => {
      // prom-client (~10 MiB of RSS) is loaded on the first scrape: the primary has no metrics of its own.
      const [reports, { AggregatorRegistry }] = await Promise.all([this.gather(this.metricsOf, 'metrics'), import('prom-client')]);
      const registry = AggregatorRegistry.aggregate(reports.map((r) => r.metrics ?? []));
      return { contentType: registry.contentType, body: await registry.metrics() };
    });
    const { contentType, body } = await this.metricsCache.get();
    return { status: 200, contentType, body };
  }

  private gather(workers: readonly ChildProcess[], what: ReportKind): Promise<WorkerReport[]> {
    return Promise.all(workers.map((worker) => this.ask(worker, what))).then((all) => all.filter((r): r is WorkerReport => r !== undefined));
  }

  private ask(worker: ChildProcess, what: ReportKind): Promise<WorkerReport | undefined> {
    if (!worker.connected) return Promise.resolve(undefined);
    const id = this.nextId++;
    return new Promise((resolve) => {
      const done = (report: WorkerReport | undefined): void => {
        clearTimeout(timer);
        this.waiting.delete(id);
        resolve(report);
      };
      const timer = setTimeout(() => done(undefined), REPORT_TIMEOUT_MS);
      this.waiting.set(id, done);
      const request: ToWorker = { type: 'report', id, what };
      worker.send(request, (err) => {
        if (err !== null && err !== undefined) done(undefined);
      });
    });
  }
}

/** Durable rooms' fields, when the workers report them: hibernated rooms add up, the oldest unsaved change is the oldest of all. */
function durability(reports: readonly WorkerReport[]): { hibernatedRooms?: number; oldestUnsavedChangeSeconds?: number } {
  const durable = reports.filter((r) => r.status.hibernatedRooms !== undefined);
  if (durable.length === 0) return {};
  return {
    hibernatedRooms: durable.reduce((total, r) => total + (r.status.hibernatedRooms ?? 0), 0),
    oldestUnsavedChangeSeconds: Math.max(...durable.map((r) => r.status.oldestUnsavedChangeSeconds ?? 0)),
  };
}
