/**
 * How `serve()` turns its options into durable rooms: the store (a directory), the keeper,
 * hibernation with clients for WebAssembly rooms — or nothing, and one line saying why, when
 * the service's rooms cannot be saved.
 * @module
 */
import { ErrorCode } from '../errors.js';
import type { Logger } from '../logger.js';
import type { DurabilityMetrics } from '../metrics.js';
import { settlesWithin } from '../settles-within.js';
import type { ResolvedServerOptions } from '../options.js';
import type { AdapterFactory, AdapterSource, SourceDurability } from '../service/adapter.js';
import { hasDurabilityHooks } from '../service/native.js';
import type { ServiceSource } from '../service/types.js';
import { DirectoryStore } from './dir-store.js';
import { DurableRooms, type KeptPlacement } from './durable-rooms.js';
import type { RoomStore } from '../room-store.js';
import { Sleepers, hibernating } from './hibernation.js';

/** Durable rooms, wired for one server. */
export interface Durable {
  readonly keeper: DurableRooms;
  /** The adapter factory with hibernation (WebAssembly rooms with clients), when it applies. */
  wrap(factory: AdapterFactory): AdapterFactory;
  /** Reads what is saved and arms the wake-ups of saved timers; once the registry exists. */
  start(placement: KeptPlacement, metrics: DurabilityMetrics): Promise<void>;
  /** `stateroom dev` swapped the service: images must match the new one from now on. */
  reloaded(next: ServiceSource | AdapterSource): void;
  readonly hibernatedRooms: number;
  /** Rooms hibernating with their clients (their instance freed, their place in the budget kept). */
  readonly sleeping: number;
  readonly oldestUnsavedSeconds: number;
  /** The server begins to close: no saved room is woken from now on. */
  stopWakes(): void;
  /**
   * Stops scheduling saves; resolves once the writes under way are done (a state directory's
   * writer thread stopped), or after `deadlineMs`, when they are given up with a warning.
   */
  close(deadlineMs: number): Promise<void>;
}

/**
 * Durable rooms for `service` under options `o`, or `undefined` without a state directory or
 * when the service's rooms cannot be saved (said once, at start-up).
 * @throws {@link StateroomError} `SR_ERR_STATE_DIR` when the state directory cannot be used.
 */
export async function durableRooms(
  o: ResolvedServerOptions,
  service: ServiceSource | AdapterSource,
  log: Logger,
  ownsRoom?: (roomId: string) => boolean,
  clusterStore?: RoomStore,
): Promise<Durable | undefined> {
  if (o.stateDir === undefined && o.store === undefined && clusterStore === undefined) return undefined;
  let durability = durabilityOf(service, log);
  if (durability === undefined) return undefined;
  // Only a store opened here is closed here: one passed in is its owner's.
  const opened = (clusterStore ?? o.store) !== undefined ? undefined : await DirectoryStore.open(o.stateDir ?? '');
  const store = clusterStore ?? o.store ?? opened!;
  const keeper = new DurableRooms(store, durability, { snapshotIntervalMs: o.snapshotIntervalMs, maxSavedRooms: o.maxSavedRooms, ownsRoom }, log);
  const sleepers = new Sleepers();
  log.info({ store: store.description, snapshotIntervalMs: o.snapshotIntervalMs }, `rooms are saved in ${store.description} (a change within ${o.snapshotIntervalMs / 1000} s)`);
  return {
    keeper,
    wrap: (factory) => (durability?.kind === 'wasm' && o.hibernateAfterMs > 0 ? hibernating(factory, o.hibernateAfterMs, sleepers) : factory),
    start: (placement, metrics) => keeper.start(placement, metrics),
    reloaded: (next) => {
      durability = durabilityOf(next, log) ?? { kind: 'native', moduleHash: '' };
      keeper.setDurability(durability);
    },
    get hibernatedRooms() {
      return keeper.hibernatedCount + sleepers.count;
    },
    get sleeping() {
      return sleepers.count;
    },
    get oldestUnsavedSeconds() {
      return keeper.oldestUnsavedSeconds;
    },
    stopWakes: () => keeper.stopWakes(),
    close: async (deadlineMs) => {
      keeper.close();
      if (opened === undefined) return;
      if (await settlesWithin(opened.close(), deadlineMs)) return;
      // A disk that stopped answering must not hold the process open for ever.
      const rooms = opened.abandon();
      log.warn({ code: ErrorCode.STATE_DIR, dir: o.stateDir, rooms: rooms.slice(0, 20) }, `the state directory's writes were still under way ${deadlineMs} ms after shutdown began; closing without them (${rooms.length} room${rooms.length === 1 ? '' : 's'} may be a save behind: ${rooms.slice(0, 20).map((room) => JSON.stringify(room)).join(', ')})`);
    },
  };
}

/** What a source's images must match, or `undefined` (said once) when its rooms cannot be saved. */
function durabilityOf(service: ServiceSource | AdapterSource, log: Logger): SourceDurability | undefined {
  if (typeof service === 'function') {
    // Only a hint: hooks written as class fields are the instances', not the prototype's, and
    // each room's service is saved by what it has (adaptService).
    if (hasDurabilityHooks(service) === false) {
      log.info({ service: service.name }, `the service ${service.name || '(anonymous class)'} declares no snapshot()/restore() methods: unless its instances have them (as fields), its rooms start fresh after a restart (see docs/durability.md)`);
    }
    return { kind: 'native', moduleHash: '' };
  }
  const { durability } = service;
  if (durability === undefined) {
    log.warn({ service: service.name }, `${service.name}: rooms of this service cannot be saved (its source does not say how); --state-dir is ignored`);
    return undefined;
  }
  if (durability.refusal !== undefined) {
    log.warn({ code: 'SR_ERR_NOT_DURABLE', service: service.name }, `${service.name}: its rooms cannot be saved faithfully, so they are not (they run as without --state-dir): ${durability.refusal}`);
    return undefined;
  }
  return durability;
}
