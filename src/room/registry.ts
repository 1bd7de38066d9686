/**
 * The embedded placement: every room in this process, in a map from room id to room.
 * Creates rooms on demand and disposes them an idle grace period after the last client
 * leaves, so a client that comes back in time finds its room as it was. A room none of whose
 * clients ever sent a message has nothing to come back to but its service's start: it goes
 * after a shorter grace (`untouchedRoomIdleMs`), so connecting to random room ids and leaving
 * at once — a churn of rooms — holds few rooms at a time.
 * @module
 */
import type { Logger } from '../logger.js';
import type { AdapterFactory } from '../service/adapter.js';
import type { ClientId, Payload } from '../service/types.js';
import type { RoomKeeper } from './keeper.js';
import type { Admission, Placement, SeatHandle } from './placement.js';
import { Room, type ClientSink, type Identity, type RoomHooks, type RoomOptions } from './room.js';

/** What the registry reports about its rooms, for metrics. */
export type RoomObserver = Pick<RoomHooks, 'onCall' | 'onError'>;

export interface RegistryOptions extends RoomOptions {
  /** How long an empty room lives on before it is disposed. */
  readonly roomIdleMs: number;
  /**
   * How long an empty room lives on when none of its clients ever sent a message (capped at
   * `roomIdleMs`). Default {@link UNTOUCHED_ROOM_IDLE_MS}.
   */
  readonly untouchedRoomIdleMs?: number;
  /** Most clients in one room; 0 for no limit. */
  readonly maxClientsPerRoom: number;
  /** Most live rooms; 0 for no limit. */
  readonly maxRooms: number;
  /**
   * Why the service cannot start another room now, if it cannot (a WASM source's budget,
   * see `AdapterSource.newRoomRefusal`): a new room is then refused with 503.
   */
  readonly newRoomRefusal?: () => string | undefined;
}

/**
 * Default grace of a room no client ever sent a message to: long enough for a page reload
 * (the page's script connects again within a second or two), short enough that a churn of
 * connect-and-leave at 1,000 rooms a second holds about 5,000 rooms, not 30,000.
 */
export const UNTOUCHED_ROOM_IDLE_MS = 5_000;

/** The admissions, one object each: asked for at every upgrade. */
const ADMITTED_FRESH: Admission = Object.freeze({ ok: true, resumes: false });
const ADMITTED_RESUMING: Admission = Object.freeze({ ok: true, resumes: true });

export class RoomRegistry implements Placement {
  private readonly rooms = new Map<string, Room>();
  private readonly idle = new Map<Room, NodeJS.Timeout>();
  /** Set once closing began: no room is woken (a saved timer) after it. */
  private closing = false;
  /** Rooms being disposed after their idle timeout; `close()` waits for them too. */
  private readonly disposing = new Set<Promise<void>>();

  constructor(
    private readonly createAdapter: AdapterFactory,
    private readonly options: RegistryOptions,
    private readonly log: Logger,
    private readonly observer: RoomObserver = {},
    /** Keeps rooms past their instance (saves, restores); without one, rooms die with it. */
    private readonly keeper?: RoomKeeper,
  ) {}

  /** How many rooms are live. */
  get size(): number {
    return this.rooms.size;
  }

  /** The live room with this id, if any. */
  get(roomId: string): Room | undefined {
    return this.rooms.get(roomId);
  }

  join(roomId: string, sink: ClientSink, identity: Identity = {}): SeatHandle {
    const room = this.rooms.get(roomId) ?? this.create(roomId);
    const { client: clientId, resumed } = room.join(sink, identity);
    // After the join: taking over a token's seat can empty the room for a moment, which
    // starts its idle timer; the new seat is there now.
    this.cancelIdle(room);
    return new LocalSeat(room, clientId, resumed, sink);
  }

  admit(roomId: string, identity: Identity): Admission | Promise<Admission> {
    const room = this.rooms.get(roomId);
    const { maxClientsPerRoom, maxRooms } = this.options;
    if (room === undefined) {
      if (maxRooms > 0 && this.rooms.size >= maxRooms) {
        return { ok: false, status: 503, reason: `the server holds its limit of ${maxRooms} rooms; try again later` };
      }
      const refusal = this.options.newRoomRefusal?.();
      if (refusal !== undefined) return { ok: false, status: 503, reason: refusal };
      // A saved room is read before its first client joins: its client ids go on from the saved ones.
      if (this.keeper !== undefined) {
        return this.keeper.preload(roomId).then((refusal): Admission => (refusal === undefined ? ADMITTED_FRESH : { ok: false, status: 503, reason: refusal }));
      }
      return ADMITTED_FRESH;
    }
    const resumes = room.resumable(identity);
    const tooOften = resumes ? room.resumeRefusal(identity) : undefined;
    if (tooOften !== undefined) return { ok: false, status: 429, reason: `room "${roomId}": ${tooOften}` };
    // A client taking its own seat's place never counts against the limit.
    const replaces = identity.token !== undefined && room.holdsToken(identity.token);
    if (!replaces && maxClientsPerRoom > 0 && room.clientCount >= maxClientsPerRoom) {
      return { ok: false, status: 503, reason: `room "${roomId}" holds its limit of ${maxClientsPerRoom} clients; try again later` };
    }
    return resumes ? ADMITTED_RESUMING : ADMITTED_FRESH;
  }

  /**
   * The registry is about to close: no room is woken from now on, and every room is told it
   * will be let go (a sleeping one is then saved asleep, not woken to hear its clients leave).
   * Called before the clients' connections are closed.
   */
  prepareClose(): void {
    this.closing = true;
    for (const room of this.rooms.values()) room.expectRetire();
  }

  /** Wakes rooms again after a {@link close} that is still letting rooms go (a reload that could not wait). */
  reopen(): void {
    this.closing = false;
  }

  async close(): Promise<void> {
    this.closing = true;
    const rooms = [...this.rooms.values()];
    for (const room of rooms) this.forget(room);
    await Promise.all([...rooms.map((room) => this.letGo(room)), ...this.disposing]);
    // Open again: after a reload (`stateroom dev`) the registry goes on with the new service.
    this.closing = false;
  }

  /**
   * Starts room `roomId` without a client, if it is not live (a saved room whose timer came
   * due): it runs its queued events and goes after the idle grace. False when the room limit
   * leaves no place for it now.
   */
  wake(roomId: string): boolean {
    if (this.rooms.has(roomId)) return true;
    if (this.closing) return false;
    const { maxRooms } = this.options;
    if (maxRooms > 0 && this.rooms.size >= maxRooms) return false;
    if (this.options.newRoomRefusal?.() !== undefined) return false;
    const room = this.create(roomId);
    if (room.live) this.scheduleIdle(room);
    return true;
  }

  /**
   * Stops room `roomId` at once without saving it (see {@link Room.abandon}): its clients are
   * closed with `code` to reconnect — elsewhere. Resolves when its service is released.
   */
  evict(roomId: string, code: number, reason: string): Promise<void> {
    const room = this.rooms.get(roomId);
    if (room === undefined) return Promise.resolve();
    this.forget(room);
    return room.abandon(code, reason);
  }

  /** Disposes a room — through the keeper, which saves it first, when rooms are durable. */
  private letGo(room: Room): Promise<void> {
    return this.keeper === undefined ? room.dispose() : this.keeper.retire(room);
  }

  private create(roomId: string): Room {
    // Asked before the room exists: its start takes the preloaded state.
    const saved = this.keeper?.savedIdsOf(roomId);
    const room = new Room(
      roomId,
      this.createAdapter,
      {
        onEmpty: (r) => this.scheduleIdle(r),
        onFailed: (r) => {
          this.forget(r);
          void this.keeper?.failed(r);
        },
        ...this.observer,
        ...(this.keeper === undefined ? {} : { load: this.keeper.load, onDirty: (r: Room) => this.keeper?.dirty(r) }),
        ...(this.keeper?.mayRun === undefined ? {} : { mayRun: this.keeper.mayRun }),
      },
      this.log,
      this.options,
    );
    if (saved !== undefined) room.continueClientIds(saved.lastClientId, saved.tokenIds);
    // The constructor may already have failed (a factory that throws synchronously).
    if (room.live) {
      this.rooms.set(roomId, room);
      // debug: a churn of rooms would otherwise write two info lines per room.
      this.log.debug({ roomId, rooms: this.rooms.size }, 'room created');
    }
    return room;
  }

  private scheduleIdle(room: Room): void {
    this.cancelIdle(room);
    if (this.rooms.get(room.id) !== room) return; // already forgotten (closing, or failed)
    const timer = setTimeout(() => {
      this.idle.delete(room);
      if (room.clientCount > 0) return;
      this.forget(room);
      const disposed = this.letGo(room).then(() => {
        this.disposing.delete(disposed);
        this.log.debug({ roomId: room.id, rooms: this.rooms.size }, 'room disposed');
      });
      this.disposing.add(disposed);
    }, this.idleMsOf(room));
    timer.unref();
    this.idle.set(room, timer);
  }

  private idleMsOf(room: Room): number {
    const { roomIdleMs, untouchedRoomIdleMs = UNTOUCHED_ROOM_IDLE_MS } = this.options;
    return room.touched ? roomIdleMs : Math.min(roomIdleMs, untouchedRoomIdleMs);
  }

  private cancelIdle(room: Room): void {
    const timer = this.idle.get(room);
    if (timer === undefined) return;
    clearTimeout(timer);
    this.idle.delete(room);
  }

  private forget(room: Room): void {
    this.cancelIdle(room);
    if (this.rooms.get(room.id) === room) this.rooms.delete(room.id);
  }
}

/** A seat in a room of this process (a class, not closures: one small object per client). */
class LocalSeat implements SeatHandle {
  private seated = true;

  constructor(
    private readonly room: Room,
    readonly clientId: ClientId,
    readonly resumed: boolean,
    private readonly sink: ClientSink,
  ) {}

  get roomId(): string {
    return this.room.id;
  }

  message(payload: Payload): void {
    this.room.message(this.clientId, payload, this.sink);
  }

  skipped(): void {
    this.room.skipped(this.clientId, this.sink);
  }

  leave(leaving = false): void {
    if (!this.seated) return;
    this.seated = false;
    this.room.leave(this.clientId, this.sink, leaving);
  }
}
