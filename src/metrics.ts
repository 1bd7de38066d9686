/**
 * Prometheus metrics for `GET /metrics`, one registry per server (so several servers in one
 * process do not mix). Hot-path counts are plain numbers bumped by the transport; prom-client
 * reads them only when scraped, so counting costs an addition per message.
 * @module
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics, type Metric } from 'prom-client';
import { CallHistogram } from './call-histogram.js';

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
  /** Durable rooms: rooms saved whose instance is freed (with a state directory). */
  readonly hibernatedRooms?: () => number;
  /** Durable rooms: seconds since the oldest change not saved yet (0 when all is saved). */
  readonly oldestUnsavedSeconds?: () => number;
  /** Scale-out: this node's forwarding and leases, read when scraped. */
  readonly cluster?: ClusterSources;
}

/** What a node of a cluster reports when scraped (`src/nodes/`). */
export interface ClusterSources {
  leasesHeld(): number;
  /** Forwarded connections open now. */
  forwardedOpen(): number;
  /** Bytes forwarded so far, both ways. */
  forwardedBytes(): { readonly toOwner: number; readonly toClient: number };
  /** How many forwards ended each way (piped, misdirected, unreachable, answered, abandoned). */
  forwardOutcomes(): Readonly<Record<string, number>>;
}

/** What a node of a cluster reports as it happens. */
export interface ClusterMetrics {
  /** A lease this node held could no longer be proven valid: its room was stopped. */
  leaseLost(): void;
  /** A Redis command of this node failed. */
  redisError(): void;
  /** An upgrade forwarded to its room's owner was piped after `seconds` (from the upgrade's arrival). */
  forwarded(seconds: number): void;
}

/** What durability reports (saves, restores), for `/metrics`. */
export interface DurabilityMetrics {
  /** A room was saved: `bytes` written, `seconds` from snapshot to the store's answer. */
  saved(bytes: number, seconds: number): void;
  /** A save found the room as its last image holds it, and wrote nothing. */
  unchanged(): void;
  /** A save failed (the store refused it, or `snapshot()` threw). */
  saveFailed(): void;
  /** A room was restored from `bytes` read in `seconds` (read, decode, restore). */
  restored(bytes: number, seconds: number): void;
  /** A saved image could not be used (corrupt, of another module, or its restore failed). */
  restoreFailed(): void;
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
  readonly durability: DurabilityMetrics;
  readonly cluster: ClusterMetrics;
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
  const calls = new CallHistogram('stateroom_call_duration_seconds', 'Duration of service calls, by callback.', [0.0001, 0.0005, 0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5]);
  // prom-client reads it like its own metrics: only what registerMetric uses is there.
  registry.registerMetric(calls as unknown as Metric);
  const errors = new Counter({ name: 'stateroom_errors_total', help: 'Errors logged, by code.', labelNames: ['code'], registers: [registry] });
  return {
    registry,
    closed: (code) => closes.inc({ code: closeCodeLabel(code) }),
    call: (callback, seconds) => calls.observe(callback, seconds),
    error: (code) => errors.inc({ code }),
    durability: durabilityMetrics(registry, sources),
    cluster: clusterMetrics(registry, sources.cluster),
  };
}

function clusterMetrics(registry: Registry, sources: ClusterSources | undefined): ClusterMetrics {
  if (sources !== undefined) {
    new Gauge({ name: 'stateroom_leases_held', help: 'Room leases this node holds.', registers: [registry], collect() { this.set(sources.leasesHeld()); } });
    new Gauge({ name: 'stateroom_forwarded_connections', help: 'Connections forwarded to their room\'s owner node, open now.', registers: [registry], collect() { this.set(sources.forwardedOpen()); } });
    const bytes = { toOwner: 0, toClient: 0 };
    new Counter({
      name: 'stateroom_forwarded_bytes_total',
      help: 'Bytes forwarded between clients and their room\'s owner node, by direction.',
      labelNames: ['direction'],
      registers: [registry],
      collect() {
        const now = sources.forwardedBytes();
        this.inc({ direction: 'to_owner' }, now.toOwner - bytes.toOwner);
        this.inc({ direction: 'to_client' }, now.toClient - bytes.toClient);
        Object.assign(bytes, now);
      },
    });
    const outcomes: Record<string, number> = {};
    new Counter({
      name: 'stateroom_forwards_total',
      help: 'Upgrades forwarded to another node, by outcome.',
      labelNames: ['outcome'],
      registers: [registry],
      collect() {
        for (const [outcome, count] of Object.entries(sources.forwardOutcomes())) {
          this.inc({ outcome }, count - (outcomes[outcome] ?? 0));
          outcomes[outcome] = count;
        }
      },
    });
  }
  const lost = new Counter({ name: 'stateroom_leases_lost_total', help: 'Leases this node could no longer prove valid (their rooms were stopped).', registers: [registry] });
  const redisErrors = new Counter({ name: 'stateroom_redis_errors_total', help: 'Redis commands of this node that failed.', registers: [registry] });
  const forwardSeconds = new Histogram({ name: 'stateroom_forward_seconds', help: 'Time from an upgrade\'s arrival to its connection piped to the owner node.', buckets: [0.0005, 0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5], registers: [registry] });
  return {
    leaseLost: () => lost.inc(),
    redisError: () => redisErrors.inc(),
    forwarded: (seconds) => forwardSeconds.observe(seconds),
  };
}

const DURATION_BUCKETS = [0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 30];

function durabilityMetrics(registry: Registry, sources: MetricSources): DurabilityMetrics {
  const { hibernatedRooms, oldestUnsavedSeconds } = sources;
  if (hibernatedRooms !== undefined) {
    new Gauge({ name: 'stateroom_hibernated_rooms', help: 'Rooms saved whose instance is freed.', registers: [registry], collect() { this.set(hibernatedRooms()); } });
  }
  if (oldestUnsavedSeconds !== undefined) {
    // With --workers N the primary merges workers' gauges: the oldest of all, not their sum.
    new Gauge({ name: 'stateroom_oldest_unsaved_change_seconds', help: 'Age of the oldest room change not saved yet.', aggregator: 'max', registers: [registry], collect() { this.set(oldestUnsavedSeconds()); } });
  }
  const saves = new Counter({ name: 'stateroom_room_saves_total', help: 'Room saves, by result.', labelNames: ['result'], registers: [registry] });
  const restores = new Counter({ name: 'stateroom_room_restores_total', help: 'Room restores from a saved image, by result.', labelNames: ['result'], registers: [registry] });
  const savedBytes = new Counter({ name: 'stateroom_room_saved_bytes_total', help: 'Bytes of room images written.', registers: [registry] });
  const restoredBytes = new Counter({ name: 'stateroom_room_restored_bytes_total', help: 'Bytes of room images read for restores.', registers: [registry] });
  const saveSeconds = new Histogram({ name: 'stateroom_room_save_seconds', help: 'Time of a room save, from snapshot to written.', buckets: DURATION_BUCKETS, registers: [registry] });
  const restoreSeconds = new Histogram({ name: 'stateroom_room_restore_seconds', help: 'Time to read and decode a room image.', buckets: DURATION_BUCKETS, registers: [registry] });
  return {
    saved: (bytes, seconds) => {
      saves.inc({ result: 'ok' });
      savedBytes.inc(bytes);
      saveSeconds.observe(seconds);
    },
    unchanged: () => saves.inc({ result: 'unchanged' }),
    saveFailed: () => saves.inc({ result: 'failed' }),
    restored: (bytes, seconds) => {
      restores.inc({ result: 'ok' });
      restoredBytes.inc(bytes);
      restoreSeconds.observe(seconds);
    },
    restoreFailed: () => restores.inc({ result: 'failed' }),
  };
}
