/**
 * Durable rooms: the {@link RoomKeeper} that saves rooms to a {@link RoomStore} and restores
 * them from it. One mechanism for every reason a room outlives its instance — a shutdown, a
 * crash (bounded by the snapshot interval), a room let go when idle, a timer due while the
 * room sleeps — and later for moving a room to another node.
 *
 * - A room that began an event since its last save is saved again within the snapshot
 *   interval (save-schedule.ts: in its last fifth, on a tick shared with other rooms; at most
 *   16 saves and 32 MiB of snapshots at a time, save-slots.ts, so saves never come all in one
 *   turn). The snapshot is taken in the room's queue, between events; compression and the
 *   write happen off it.
 * - A room let go (idle, or the server closing) is saved, then disposed. A saved room whose
 *   timer is armed is woken when it comes due.
 * - A room starts from its image: unless the image is unreadable or of another module (a
 *   warning names both), in which case it starts fresh.
 * - A room nobody ever sent a message to is not saved (unless it was restored): connecting to
 *   random room ids must not fill the disk.
 * - A save whose image holds exactly what the last image this instance wrote holds (a room
 *   whose events only read its state) writes nothing: a compare instead of a write and fsync.
 * @module
 */
import { ErrorCode, StateroomError, describeThrown } from '../errors.js';
import { throttleOf, type Logger } from '../logger.js';
import type { DurabilityMetrics } from '../metrics.js';
import { MAX_TIMEOUT_MS } from '../protocol.js';
import type { RoomKeeper, SavedIds } from '../room/keeper.js';
import type { Room } from '../room/room.js';
import type { RoomState } from '../room/state.js';
import type { SourceDurability } from '../service/adapter.js';
import { decodeImage, readImageHeader } from './image.js';
import { imageSaverOf, type ImageSaver } from './image-saver.js';
import { KeyQueue } from './key-queue.js';
import { SaveSchedule } from './save-schedule.js';
import { SaveSlots } from './save-slots.js';
import { decodeSavedRoom } from './saved-room.js';
import type { RoomStore } from '../room-store.js';

/** Periodic saves (snapshot, encode and write) running at once, across all rooms. */
const MAX_CONCURRENT_SAVES = 16;
/** Snapshot bytes those saves hold at once (one larger room is still saved, alone). */
const MAX_SAVING_BYTES = 32 * 1024 * 1024;
/** What a room's first snapshot is expected to hold (a Rust guest's heap is ~1 MiB); later ones, the size of its last. */
const FIRST_SNAPSHOT_BYTES = 1024 * 1024;
/** How long a room let go retries a failed save of its last state (then the state is lost, loudly). */
const RETIRE_RETRY_MS = [1_000, 2_000, 4_000, 8_000, 16_000];
/** How long the last snapshot of a room being let go may take (its events before it included). */
const LAST_SNAPSHOT_TIMEOUT_MS = 10_000;
/** States read ahead of a join held at once, and for how long at most. */
const MAX_PRELOADED = 16;
const MAX_PRELOADED_IDS = 10_000;
const PRELOAD_HOLD_MS = 2_000;
/** While the store is full, its rooms are counted again at most this often (a count lists the store). */
const RECOUNT_MS = 2_000;
/** A wake-up the room limit refused is tried again after this long. */
const WAKE_RETRY_MS = 1_000;
export interface DurableRoomsOptions {
  /** A changed room is saved again within this long. */
  readonly snapshotIntervalMs: number;
  /** Most saved rooms (0: no limit): past it a new room is refused at admission, and not saved. */
  readonly maxSavedRooms?: number;
  /** Whether this process runs `roomId` (with `--workers N`, only its own rooms' timers are woken here). */
  readonly ownsRoom?: ((roomId: string) => boolean) | undefined;
}

/** What the keeper asks of the placement: start a saved room without a client; is a room live. */
export interface KeptPlacement {
  /**
   * Starts the room without a client, once it is sure the room runs here (in a cluster: once
   * this node holds its lease) and `prepare` said to go on; false when there is no place for it
   * now (asked again later). `prepare` reads the saved state then, not before: read earlier,
   * an image could be older than the one the room's last owner saved as it let the room go.
   */
  wake(roomId: string, prepare: () => Promise<boolean>): boolean | Promise<boolean>;
  isLive(roomId: string): boolean;
}

export class DurableRooms implements RoomKeeper {
  private placement: KeptPlacement = { wake: () => false, isLive: () => false };
  private readonly prepareWake = (roomId: string) => async (): Promise<boolean> => {
    await this.preload(roomId);
    return !this.wakesStopped;
  };
  /** Rooms with a save scheduled, and since when (performance.now()) they have unsaved changes. */
  private readonly scheduled: SaveSchedule<Room>;
  /** Rooms whose periodic save is under way, and since when they had unsaved changes. */
  private readonly saving = new Map<Room, number>();
  /**
   * What a room's next start must wait for, by id: the last save of an instance being let go
   * (from the moment the registry forgot it until its last state is written — a client that
   * comes back meanwhile would otherwise read the state before the last one), and the
   * set-aside of a bad image.
   */
  private readonly pending = new KeyQueue();
  /** Each room id's writes, one at a time in call order; a start waits for them too. */
  private readonly writes = new KeyQueue();
  /** Wake-ups of saved rooms whose timer is armed. */
  private readonly wakeups = new Map<string, NodeJS.Timeout>();
  /**
   * A digest of the image this process last wrote of each room it runs ({@link
   * savedRoomDigest}: 64 characters, not the image), while the store holds exactly it: forgotten
   * when the room starts, is let go, fails, is set aside, or a write of it fails (a failed write
   * may have replaced the file all the same).
   */
  private readonly lastWritten = new Map<string, string>();
  /** Room ids with an image in the store (as far as this process knows). */
  private readonly stored = new Set<string>();
  /** Rooms whose failed save was logged: the next failure is not, until a save succeeds. */
  private readonly failing = new Set<string>();
  private readonly slots = new SaveSlots(MAX_CONCURRENT_SAVES, MAX_SAVING_BYTES);
  /** The size of each live room's last snapshot: what its next save reserves. */
  private readonly snapshotBytes = new WeakMap<Room, number>();
  private closed = false;
  private wakesStopped = false;
  /** States read at admission for rooms about to start, taken by their load (a few at a time). */
  private readonly preloaded = new Map<string, { readonly state: Promise<RoomState | undefined>; readonly durability: SourceDurability }>();
  /** The source each started room belongs to (its images are written as that source's). */
  private readonly roomDurability = new Map<string, SourceDurability>();
  /** Each room's source, pinned (see durabilityOf). */
  private readonly pinned = new WeakMap<Room, SourceDurability>();
  /** Rooms let go: a periodic save of one that resolves after it was let go is dropped. */
  private readonly letGo = new WeakSet<Room>();
  /** The last client id of each preloaded state that was read. */
  private readonly preloadedIds = new Map<string, SavedIds>();
  private metrics: DurabilityMetrics | undefined;
  /** Encodes and writes one image (on the directory store's writer thread, or here). */
  private readonly saveImage: ImageSaver;
  /** A count of the store's rooms under way (see recount), and when the last one began. */
  private recounting: Promise<void> | undefined;
  private recountedAt = -Infinity;

  constructor(
    private readonly store: RoomStore,
    private durability: SourceDurability,
    private readonly options: DurableRoomsOptions,
    private readonly log: Logger,
  ) {
    this.saveImage = imageSaverOf(store);
    this.scheduled = new SaveSchedule(options.snapshotIntervalMs, (room, since) => {
      this.saving.set(room, since);
      void this.saveLive(room).finally(() => this.saving.delete(room));
    });
  }

  /**
   * Connects the keeper to its placement, then reads which rooms are saved and arms the
   * wake-up of each whose timer is pending (an overdue one wakes at once).
   */
  async start(placement: KeptPlacement, metrics?: DurabilityMetrics): Promise<void> {
    this.placement = placement;
    this.metrics = metrics;
    const saved = (await this.store.timers?.()) ?? (await this.readTimers());
    for (const { roomId, timerDueAt } of saved) {
      // With --workers N every worker reads the directory; each counts and wakes its own rooms.
      if (this.options.ownsRoom?.(roomId) === false) continue;
      this.stored.add(roomId);
      if (timerDueAt !== undefined) this.scheduleWake(roomId, timerDueAt);
    }
    if (this.stored.size > 0) this.log.info({ rooms: this.stored.size, store: this.store.description }, `${this.stored.size} saved room(s) in ${this.store.description}`);
  }

  /** Another source from now on (a dev reload): its images must match it. */
  setDurability(durability: SourceDurability): void {
    this.durability = durability;
  }

  /** How many saved rooms are not live here (their instance is freed). */
  get hibernatedCount(): number {
    let count = 0;
    for (const roomId of this.stored) if (!this.placement.isLive(roomId)) count += 1;
    return count;
  }

  /** Seconds since the oldest change not saved yet; 0 when everything is saved. */
  get oldestUnsavedSeconds(): number {
    let oldest = Infinity;
    for (const [, since] of this.scheduled.entries()) oldest = Math.min(oldest, since);
    for (const since of this.saving.values()) oldest = Math.min(oldest, since);
    return oldest === Infinity ? 0 : (performance.now() - oldest) / 1000;
  }

  /**
   * {@link RoomKeeper.preload}: reads the state now; the room's load takes it. Refuses a room
   * with no saved state while the store holds its limit of saved rooms.
   */
  async preload(roomId: string): Promise<string | undefined> {
    const pending = this.preloaded.get(roomId);
    if (pending !== undefined) {
      // A second upgrade for the same id while the first is preloaded: judged the same way.
      return (await pending.state) === undefined ? this.refusalOfNew(roomId) : undefined;
    }
    const durability = this.durability;
    const state = this.read(roomId, durability);
    // Held only from admission to join (the same turn, mostly): a few states are plenty, and a
    // flood of admissions must not hold many images. Past that, only the last client id is
    // kept (the room reads its state again itself), so ids still go on after a restore.
    const entry = { state, durability };
    const keep = this.preloaded.size < MAX_PRELOADED;
    if (keep) this.preloaded.set(roomId, entry);
    const read = await state;
    // The tokens' ids (up to 20 KiB) only with a state held in full: the few of `preloaded`.
    if (read !== undefined && this.preloadedIds.size < MAX_PRELOADED_IDS) this.preloadedIds.set(roomId, keep ? { lastClientId: read.lastClientId, tokenIds: read.tokenIds } : { lastClientId: read.lastClientId });
    // Not taken soon (the client went away before it joined): let it go.
    setTimeout(() => {
      if (this.preloaded.get(roomId) === entry) this.preloaded.delete(roomId);
      this.preloadedIds.delete(roomId);
    }, PRELOAD_HOLD_MS).unref();
    if (read !== undefined) return undefined;
    const refusal = await this.refusalOfNew(roomId);
    // A refused room will not start: its place among the preloaded goes to rooms that will.
    if (refusal !== undefined && this.preloaded.get(roomId) === entry) this.preloaded.delete(roomId);
    return refusal;
  }

  /** Whether the store holds its limit of saved rooms and `roomId` is not one of them. */
  private full(roomId: string): boolean {
    const max = this.options.maxSavedRooms ?? 0;
    return max > 0 && this.stored.size >= max && !this.stored.has(roomId);
  }

  /**
   * Why a new room is refused (the store is full), logged at most every few seconds; or
   * undefined. While full, the store is counted again (at most every {@link RECOUNT_MS}), so
   * rooms deleted meanwhile (`stateroom rooms delete`) make room without a restart.
   */
  private async refusalOfNew(roomId: string): Promise<string | undefined> {
    if (!this.full(roomId)) return undefined;
    await this.recount();
    if (!this.full(roomId)) return undefined;
    const max = this.options.maxSavedRooms ?? 0;
    throttleOf(this.log).write('warn', 'saved-room limit', 'full', { code: ErrorCode.SAVE_FAILED, roomId, rooms: this.stored.size }, `new room "${roomId}" refused: ${this.store.description} holds ${this.stored.size} saved rooms, the most --max-saved-rooms allows (${max}); delete rooms with \`stateroom rooms delete\` or raise the limit`);
    return `new rooms cannot be created: the server keeps its limit of ${max} saved rooms`;
  }

  /** Counts the store's rooms (this process's) again, unless that was done lately. */
  private recount(): Promise<void> {
    if (this.recounting !== undefined) return this.recounting;
    if (performance.now() - this.recountedAt < RECOUNT_MS) return Promise.resolve();
    this.recountedAt = performance.now();
    this.recounting = this.store
      .list()
      .then(
        (ids) => {
          this.stored.clear();
          for (const id of ids) if (this.options.ownsRoom?.(id) !== false) this.stored.add(id);
        },
        () => undefined, // counted as before: a failing store is said by its saves
      )
      .finally(() => (this.recounting = undefined));
    return this.recounting;
  }

  /** {@link RoomKeeper.savedIdsOf} */
  savedIdsOf(roomId: string): SavedIds | undefined {
    return this.preloadedIds.get(roomId);
  }

  /** {@link RoomKeeper.load}: the saved state of a room about to start. */
  readonly load = (roomId: string): Promise<RoomState | undefined> => {
    // Called in the same turn as the room's service is made: the room is of this source.
    const durability = this.durability;
    this.roomDurability.set(roomId, durability);
    this.lastWritten.delete(roomId); // another process may have written it since
    this.cancelWake(roomId); // the room starts: its own timer takes over
    const preloaded = this.preloaded.get(roomId);
    this.preloaded.delete(roomId);
    this.preloadedIds.delete(roomId);
    // A state read for another source (a reload came between admission and join) is read again.
    return preloaded !== undefined && preloaded.durability === durability ? preloaded.state : this.read(roomId, durability);
  };

  private async read(roomId: string, durability: SourceDurability): Promise<RoomState | undefined> {
    // The last save of its previous instance comes first, and a set-aside of a bad image.
    await this.pending.settled(roomId);
    await this.writes.settled(roomId);
    const started = performance.now();
    const where = this.store.where(roomId);
    let bytes: Uint8Array | undefined;
    try {
      bytes = await this.store.get(roomId);
    } catch (err) {
      const code = err instanceof StateroomError ? err.code : ErrorCode.STATE_DIR;
      this.unusable(roomId, `room "${roomId}" starts fresh: its saved state in ${where} cannot be read: ${describeThrown(err)}`, code);
      return undefined;
    }
    if (bytes === undefined) return undefined;
    // It has an image (a room taken over from another node, say): it counts, and it may be saved.
    this.stored.add(roomId);
    try {
      const image = await decodeImage(bytes, where);
      const { kind, moduleHash } = durability;
      if (image.kind !== kind || image.moduleHash !== moduleHash) {
        const saved = image.kind === 'wasm' ? `module sha256 ${image.moduleHash}` : 'a native service';
        const now = kind === 'wasm' ? `module sha256 ${moduleHash}` : 'a native service';
        this.unusable(roomId, `room "${roomId}" starts fresh: its saved state (${where}) comes from ${saved}, and this server runs ${now}`, ErrorCode.IMAGE_CORRUPT);
        return undefined;
      }
      const state = decodeSavedRoom(image.body, image.timerDueAt, where);
      this.metrics?.restored(bytes.byteLength, (performance.now() - started) / 1000);
      return state;
    } catch (err) {
      this.unusable(roomId, `room "${roomId}" starts fresh: its saved state is skipped: ${describeThrown(err)}`, ErrorCode.IMAGE_CORRUPT);
      return undefined;
    }
  }

  /** {@link RoomKeeper.dirty}: saves the room within the interval (save-schedule.ts says when). */
  dirty(room: Room): void {
    if (this.closed || this.scheduled.has(room)) return;
    this.durabilityOf(room);
    this.scheduled.add(room);
  }

  /** {@link RoomKeeper.retire}: save what is worth keeping, then dispose. */
  retire(room: Room): Promise<void> {
    this.scheduled.delete(room);
    const durability = this.durabilityOf(room);
    this.letGo.add(room);
    room.releaseDetached();
    const state = worthSaving(room) ? this.lastSnapshot(room) : Promise.resolve(undefined);
    const disposed = room.dispose();
    const saved = this.pending
      .run(room.id, () => state.then((taken) => (taken?.body === undefined ? undefined : this.keep(room.id, { ...taken, body: taken.body }, durability))))
      .finally(() => this.lastWritten.delete(room.id));
    return Promise.all([saved, disposed]).then(() => undefined);
  }

  /**
   * The snapshot of a room being let go, waited for at most {@link LAST_SNAPSHOT_TIMEOUT_MS}:
   * a callback that never settles holds its room, but must not hold the next instance of the
   * room (whose start waits for this save) for ever.
   */
  private lastSnapshot(room: Room): Promise<RoomState | undefined> {
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<undefined>((resolve) => {
      timer = setTimeout(() => {
        this.log.error({ code: ErrorCode.SAVE_FAILED, roomId: room.id }, `room "${room.id}" was let go, and its service did not finish its events within ${LAST_SNAPSHOT_TIMEOUT_MS / 1000} s: its changes since the last save are lost`);
        resolve(undefined);
      }, LAST_SNAPSHOT_TIMEOUT_MS);
      timer.unref();
    });
    const taken = room.snapshot().catch((err: unknown) => this.snapshotFailed(room.id, err));
    return Promise.race([taken, late]).finally(() => clearTimeout(timer));
  }

  /** {@link RoomKeeper.failed}: a failure right after a restore sets the image aside. */
  failed(room: Room): Promise<void> {
    this.scheduled.delete(room);
    this.durabilityOf(room);
    this.lastWritten.delete(room.id);
    if (!room.failedFromSaved) return Promise.resolve();
    this.metrics?.restoreFailed();
    return this.pending.run(room.id, () => this.setAside(room.id));
  }

  /**
   * The source a room belongs to, pinned the first time the keeper sees the room after its
   * start (its load recorded it): its images are written as that source's, even if a reload
   * swapped the source since.
   */
  private durabilityOf(room: Room): SourceDurability {
    let durability = this.pinned.get(room);
    if (durability === undefined) {
      durability = this.roomDurability.get(room.id) ?? this.durability;
      this.pinned.set(room, durability);
      this.roomDurability.delete(room.id); // pinned now: the map holds only rooms just started
    }
    return durability;
  }

  /** No saved room is woken from now on (the server is closing). */
  stopWakes(): void {
    this.wakesStopped = true;
    for (const timer of this.wakeups.values()) clearTimeout(timer);
    this.wakeups.clear();
  }

  /** Stops scheduling: the rooms still live are saved by {@link retire} as they are let go. */
  close(): void {
    this.closed = true;
    this.wakesStopped = true;
    this.scheduled.clear();
    for (const timer of this.wakeups.values()) clearTimeout(timer);
    this.wakeups.clear();
  }

  /** A periodic save of a live room. */
  private async saveLive(room: Room): Promise<void> {
    if (!room.live) return;
    if (!worthSaving(room)) {
      room.skipSave();
      return;
    }
    const durability = this.durabilityOf(room);
    const slot = await this.slots.acquire(this.snapshotBytes.get(room) ?? FIRST_SNAPSHOT_BYTES);
    try {
      const state = await room.snapshot().catch((err: unknown) => this.snapshotFailed(room.id, err));
      if (state?.body !== undefined) {
        slot.holds(state.body.byteLength);
        this.snapshotBytes.set(room, state.body.byteLength);
      }
      // A room let go meanwhile (its snapshot waited behind a long callback) was saved by its
      // retire, and a newer instance may have saved since: this older state must not land.
      if (state?.body === undefined || this.letGo.has(room)) return;
      // A WASM room's capture is a buffer of its own, used once: it goes to the writer thread
      // as it is (a failed save takes a new snapshot). A native service's bytes may be its own.
      if (!(await this.write(room.id, { ...state, body: state.body }, durability, durability.kind === 'wasm'))) room.markDirty();
    } finally {
      slot.release();
    }
  }

  /** Writes the last state of a room let go, retrying a while: nothing else holds it. */
  private async keep(roomId: string, state: RoomState & { body: Uint8Array }, durability: SourceDurability): Promise<void> {
    for (let attempt = 0; ; attempt++) {
      if (await this.write(roomId, state, durability)) break;
      const wait = RETIRE_RETRY_MS[attempt];
      if (wait === undefined || this.closed) {
        // One line per room, but a client can make many rooms fail so (a full store): throttled.
        throttleOf(this.log).error('saves', `${roomId}\0lost`, { code: ErrorCode.SAVE_FAILED, roomId }, `room "${roomId}" was let go and its last state could not be saved (${attempt + 1} attempts): its changes since the last save are lost`);
        this.failing.delete(roomId);
        return;
      }
      await new Promise((resolve) => setTimeout(resolve, wait).unref());
    }
    if (state.timerDueAt !== undefined) this.scheduleWake(roomId, state.timerDueAt);
  }

  /**
   * Encodes and writes one state of a room, after any write of it in progress. True when
   * written. `giveBody`: the state's body buffer is not used again (see {@link ImageSaver}).
   */
  private write(roomId: string, state: RoomState & { body: Uint8Array }, durability: SourceDurability, giveBody = false): Promise<boolean> {
    return this.writes.run(roomId, () => this.put(roomId, state, durability, giveBody));
  }

  private async put(roomId: string, state: RoomState & { body: Uint8Array }, { kind, moduleHash }: SourceDurability, giveBody: boolean): Promise<boolean> {
    const started = performance.now();
    if (this.full(roomId)) {
      // Admitted before the store filled up (admission refuses new rooms once it is full).
      this.saveFailed(roomId, `room "${roomId}" could not be saved: ${this.store.description} holds its limit of ${this.options.maxSavedRooms} saved rooms (--max-saved-rooms; the save is retried)`);
      return false;
    }
    try {
      const image = { roomId, kind, moduleHash, savedAt: Date.now(), timerDueAt: state.timerDueAt };
      const previous = this.lastWritten.get(roomId);
      this.lastWritten.delete(roomId);
      const saved = await this.saveImage(image, state, giveBody, previous);
      this.lastWritten.set(roomId, saved.digest);
      if (!saved.written) {
        this.metrics?.unchanged();
      } else {
        this.stored.add(roomId);
        this.metrics?.saved(saved.bytes, (performance.now() - started) / 1000);
      }
      if (this.failing.delete(roomId)) this.log.info({ roomId }, `room "${roomId}" is saved again`);
      return true;
    } catch (err) {
      this.saveFailed(roomId, `room "${roomId}" could not be saved to ${this.store.where(roomId)} (it goes on, and the save is retried): ${describeThrown(err)}`);
      return false;
    }
  }

  private snapshotFailed(roomId: string, err: unknown): undefined {
    this.saveFailed(roomId, `room "${roomId}" could not be saved: its snapshot failed (it goes on, and the save is retried): ${describeThrown(err)}`);
    return undefined;
  }

  /** Logged once per room until a save of it succeeds (a full disk must not write a line per save). */
  private saveFailed(roomId: string, message: string): void {
    this.metrics?.saveFailed();
    if (this.failing.has(roomId)) return;
    this.failing.add(roomId);
    throttleOf(this.log).write('warn', 'saves', `${roomId}\0save`, { code: ErrorCode.SAVE_FAILED, roomId }, message);
  }

  /** An image that cannot be used: said once per room per few seconds (a client may retry a room over and over). */
  private unusable(roomId: string, message: string, code: string): void {
    this.metrics?.restoreFailed();
    throttleOf(this.log).write('warn', `room "${roomId}"`, `${roomId}\0unusable`, { code, roomId, file: this.store.where(roomId) }, message);
  }

  private async setAside(roomId: string): Promise<void> {
    await this.writes.settled(roomId);
    this.lastWritten.delete(roomId);
    try {
      const where = await this.store.setAside(roomId, 'restore failed');
      this.stored.delete(roomId);
      const fields = { code: ErrorCode.RESTORE_FAILED, roomId, file: where };
      throttleOf(this.log).write('warn', `room "${roomId}"`, `${roomId}\0aside`, fields, `room "${roomId}" failed right after its restore: its saved state is set aside${where === undefined ? '' : ` as ${where}`} and the next client starts it fresh`);
    } catch (err) {
      this.log.error({ code: ErrorCode.STATE_DIR, roomId }, `room "${roomId}": its saved state could not be set aside: ${describeThrown(err)}`);
    }
  }

  /** Every saved room's pending timer, from each image read whole (a store without `timers()`). */
  private async readTimers(): Promise<Array<{ roomId: string; timerDueAt: number | undefined }>> {
    const found = [];
    for (const roomId of await this.store.list()) {
      let timerDueAt: number | undefined;
      try {
        const bytes = await this.store.get(roomId);
        timerDueAt = bytes === undefined ? undefined : readImageHeader(bytes, this.store.where(roomId)).timerDueAt;
      } catch {
        // said when the room is loaded
      }
      found.push({ roomId, timerDueAt });
    }
    return found;
  }

  private scheduleWake(roomId: string, dueAt: number): void {
    if (this.wakesStopped || this.options.ownsRoom?.(roomId) === false) return;
    this.cancelWake(roomId);
    const delay = Math.min(Math.max(0, dueAt - Date.now()), MAX_TIMEOUT_MS);
    const timer = setTimeout(() => {
      this.wakeups.delete(roomId);
      if (this.wakesStopped) return;
      if (Date.now() < dueAt) this.scheduleWake(roomId, dueAt); // a delay past setTimeout's limit
      else void this.wake(roomId);
    }, delay);
    timer.unref();
    this.wakeups.set(roomId, timer);
  }

  /**
   * Starts a saved room whose timer is due — here only if it runs here, its state read then,
   * as for a client's join; later if there is no place now.
   */
  private async wake(roomId: string): Promise<void> {
    if (this.placement.isLive(roomId)) return;
    if (!(await this.placement.wake(roomId, this.prepareWake(roomId)))) this.scheduleWake(roomId, Date.now() + WAKE_RETRY_MS);
  }

  private cancelWake(roomId: string): void {
    const timer = this.wakeups.get(roomId);
    if (timer === undefined) return;
    clearTimeout(timer);
    this.wakeups.delete(roomId);
  }
}

/** A room is worth saving once a client spoke to it, or when it was saved before. */
function worthSaving(room: Room): boolean {
  return room.touched || room.restored;
}

