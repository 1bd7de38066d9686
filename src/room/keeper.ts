/**
 * The seam between the registry and durability: what the in-process placement asks of
 * whoever keeps rooms past their instance (`src/durability/`). The registry never sees a
 * store or an image; without a keeper, rooms live and die with their instance, as before.
 * @module
 */
import type { Room } from './room.js';
import type { LoadState, RoomState } from './state.js';

/** What a room starting from a saved state must know before its first seat: see {@link RoomKeeper.savedIdsOf}. */
export type SavedIds = Pick<RoomState, 'lastClientId' | 'tokenIds'>;

export interface RoomKeeper {
  /** A room's saved state, asked once when it starts. */
  readonly load: LoadState;
  /**
   * Reads a room's saved state ahead of its first client's join (at admission), so the room
   * can be created knowing it: its client ids go on after the saved ones from the first seat.
   * Resolves to why the room may not be created (a 503's reason; the store is full), if so.
   */
  preload(roomId: string): Promise<string | undefined>;
  /**
   * The client ids of a preloaded room's saved state, if one was read (the room starts now):
   * the last one given out, and the tokens' (when the state is still held).
   */
  savedIdsOf(roomId: string): SavedIds | undefined;
  /** Optional: whether this process may still run the room's next event (see `RoomHooks.mayRun`). */
  readonly mayRun?: (room: Room) => boolean;
  /** The room began an event since its last snapshot: schedule its next save. */
  dirty(room: Room): void;
  /**
   * The room is let go (idle without clients, or the server is closing): save what is worth
   * keeping, then dispose it. Resolves when both are done; never rejects.
   */
  retire(room: Room): Promise<void>;
  /**
   * The room failed and was forgotten (a failure right after a restore blames the saved state).
   * Resolves once what it does about it (setting an image aside) is done.
   */
  failed(room: Room): Promise<void>;
}
