/**
 * The room store seam: bytes by room id. Every store meets this one small interface — a
 * directory on this machine by default (dir-store.ts), Redis when rooms move between machines —
 * so saving, hibernating and moving a room are one mechanism whichever store holds it.
 *
 * A store keeps what it is given. Encoding, checksums and deciding whether an image may be
 * restored are image.ts's and the caller's; a store only promises that a `get` returns the
 * bytes of one whole `put` (the latest that finished, for that room id), never a mix.
 * @module
 */

/** Where room images are kept. */
export interface RoomStore {
  /** For messages: e.g. `directory /abs/state`. */
  readonly description: string;
  /**
   * The bytes last put for `roomId`, or `undefined` when there are none.
   * @throws {@link StateroomError} when the store cannot be read (`SR_ERR_STATE_DIR` for a directory).
   */
  get(roomId: string): Promise<Uint8Array | undefined>;
  /**
   * Replaces the bytes of `roomId`, atomically: a crash at any moment leaves either the old
   * bytes or the new ones. Calls for one room id take effect in the order they were made.
   * @throws {@link StateroomError} when the bytes could not be written; what was there stays.
   */
  put(roomId: string, bytes: Uint8Array): Promise<void>;
  /** Removes the bytes of `roomId`; resolves to whether there were any. */
  delete(roomId: string): Promise<boolean>;
  /** Every room id with bytes in the store, sorted. */
  list(): Promise<string[]>;
  /**
   * Keeps the bytes of `roomId` aside (renamed, not deleted: someone may want to look at them)
   * so the next `get` finds none; `why` is kept beside them. Resolves to where they went, or
   * `undefined` when there was nothing to set aside.
   */
  setAside(roomId: string, why: string): Promise<string | undefined>;
  /** Where the bytes of `roomId` live, for messages (a file path). */
  where(roomId: string): string;
  /**
   * Optional: every saved room with the due time of its pending timer (epoch ms; `undefined`
   * for none), read cheaply (image headers only). Without it, a server starting reads each
   * image whole to find the timers it must wake.
   */
  timers?(): Promise<ReadonlyArray<{ readonly roomId: string; readonly timerDueAt: number | undefined }>>;
}
