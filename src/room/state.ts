/**
 * A room's saved state: what a room gives when asked for a snapshot, and what it starts from
 * when it is restored. The service's own state is the adapter's opaque bytes; the rest is the
 * room's, so that a restored room goes on as the saved one would have.
 * @module
 */
import type { ClientId } from '../service/types.js';

export interface RoomState {
  /** The adapter's bytes (`ServiceAdapter.snapshot`); `undefined` when the service keeps nothing to save. */
  readonly body: Uint8Array | undefined;
  /** When the room's timer comes due, in epoch ms; `undefined` when none is armed. */
  readonly timerDueAt: number | undefined;
  /** The last client id given out: a restored room goes on after it, so ids are never reused. */
  readonly lastClientId: ClientId;
  /**
   * The clients the service had seen connect and not yet disconnect. They are gone after a
   * restore in another process (their sockets went with the old one), so the restored room
   * queues their `disconnect` first: the service never keeps a client that left.
   */
  readonly clients: readonly ClientId[];
  /**
   * Which client id each recent `?token=` had ({@link TOKEN_DIGEST_BYTES}-byte digests of the
   * tokens, never the tokens: an image is not a place for secrets), so a client that comes back
   * with its token after a restore — or after its room moved to another node — keeps its id.
   * Absent in images saved before it was kept.
   */
  readonly tokenIds?: ReadonlyArray<readonly [digest: Uint8Array, client: ClientId]>;
}

/** Bytes of a token's digest in {@link RoomState.tokenIds}: 128 bits of SHA-256. */
export const TOKEN_DIGEST_BYTES = 16;

/** Where a room's saved state comes from when it starts. */
export type LoadState = (roomId: string) => Promise<RoomState | undefined>;
