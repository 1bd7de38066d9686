/**
 * Prometheus metrics for `GET /metrics`, one registry per server (so several servers in one
 * process do not mix). Hot-path counts are plain numbers bumped by the transport; prom-client
 * reads them only when scraped, so counting costs an addition per message.
 * @module
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/** Counts kept by the transport between scrapes. */
export class TrafficCounts {
  messagesIn = 0;
  bytesIn = 0;
  messagesOut = 0;
  bytesOut = 0;
}

/** What the metrics read from the running server when scraped. */
export interface MetricSources {
  readonly traffic: TrafficCounts;
  rooms(): number;
  connections(): number;
}

/**
 * The close codes `stateroom_closes_total` has a series for: those RFC 6455 defines and this
 * server uses, and 4001 (replaced). Any other code a client sends is counted as `other`, so
 * a client cannot make one series per code (2,001 of them, say).
 */
export const KNOWN_CLOSE_CODES: ReadonlySet<number> = new Set([1000, 1001, 1002, 1003, 1005, 1006, 1007, 1008, 1009, 1010, 1011, 1012, 1013, 1014, 1015, 4001]);

/** The `code` label for a close code. */
export function closeCodeLabel(code: number): string {
  return KNOWN_CLOSE_CODES.has(code) ? String(code) : 'other';
}

export interface ServerMetrics {
  readonly registry: Registry;
  /** A connection closed with `code` (the server's, when it started the close); unknown codes count as `other`. */
  readonly closed: (code: number) => void;
  /** A service call of `callback` took `seconds`. */
  readonly call: (callback: string, seconds: number) => void;
  /** An error with `code` was logged. */
  readonly error: (code: string) => void;
}

export function createMetrics(sources: MetricSources): ServerMetrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'stateroom_' });
  new Gauge({ name: 'stateroom_rooms', help: 'Live rooms.', registers: [registry], collect() { this.set(sources.rooms()); } });
  new Gauge({ name: 'stateroom_connections', help: 'Open WebSocket connections.', registers: [registry], collect() { this.set(sources.connections()); } });
  const seen = new TrafficCounts();
  const total = (name: string, help: string, field: keyof TrafficCounts): void => {
    new Counter({
      name,
      help,
      registers: [registry],
      collect() {
        this.inc(sources.traffic[field] - seen[field]);
        seen[field] = sources.traffic[field];
      },
    });
  };
  total('stateroom_messages_in_total', 'Messages received from clients.', 'messagesIn');
  total('stateroom_bytes_in_total', 'Payload bytes received from clients (text counted in UTF-16 units).', 'bytesIn');
  total('stateroom_messages_out_total', 'Messages sent to clients.', 'messagesOut');
  total('stateroom_bytes_out_total', 'Payload bytes sent to clients (text counted in UTF-16 units).', 'bytesOut');
  const closes = new Counter({ name: 'stateroom_closes_total', help: 'Connections closed, by close code (the code the server sent when it closed; codes it does not define count as other).', labelNames: ['code'], registers: [registry] });
  const calls = new Histogram({
    name: 'stateroom_call_duration_seconds',
    help: 'Duration of service calls, by callback.',
    labelNames: ['callback'],
    buckets: [0.0001, 0.0005, 0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5],
    registers: [registry],
  });
  // One child per callback, looked up once: observe({ callback }) would hash the labels on every call.
  const byCallback: Record<string, { observe(seconds: number): void }> = {};
  const errors = new Counter({ name: 'stateroom_errors_total', help: 'Errors logged, by code.', labelNames: ['code'], registers: [registry] });
  return {
    registry,
    closed: (code) => closes.inc({ code: closeCodeLabel(code) }),
    call: (callback, seconds) => (byCallback[callback] ??= calls.labels(callback)).observe(seconds),
    error: (code) => errors.inc({ code }),
  };
}
