/**
 * How the keeper saves one image: encoded and written by the store itself when it can (the
 * directory store's writer thread), else encoded here (brotli on libuv's pool) and put as
 * bytes — any {@link RoomStore}, the Redis one among them.
 * @module
 */
import type { RoomStore } from '../room-store.js';
import { DirectoryStore } from './dir-store.js';
import type { RoomState } from '../room/state.js';
import { encodeImage, savedRoomDigest, type RoomImage } from './image.js';
import type { WrittenImage } from './image-writer.js';
import { encodeSavedRoom } from './saved-room.js';

/**
 * Saves the image of `state` (its body: saved-room.ts) unless its digest is `previousDigest`.
 * `giveBody`: `state.body`'s whole buffer is the saver's (a WASM room's capture, never used
 * again), so it may be handed to a writer thread instead of copied. Rejects as the store's
 * `put` does.
 */
export type ImageSaver = (image: Omit<RoomImage, 'body'>, state: RoomState & { readonly body: Uint8Array }, giveBody: boolean, previousDigest: string | undefined) => Promise<WrittenImage>;

/** The way to save images into `store`. */
export function imageSaverOf(store: RoomStore): ImageSaver {
  // Only the directory store itself: a store of the user's own with a method of that name
  // means whatever it means, and gets bytes through `put` like any other.
  if (store instanceof DirectoryStore) {
    // A body given up is joined on the writer thread; one kept is copied here, into a fresh
    // buffer that is then the writer's.
    return (image, state, giveBody, previousDigest) => (giveBody ? store.putRoom(image, state, previousDigest) : store.putImage({ ...image, body: encodeSavedRoom(state) }, previousDigest, true));
  }
  return async (image, state, _giveBody, previousDigest) => {
    const bytes = await encodeImage({ ...image, body: encodeSavedRoom(state) });
    const digest = savedRoomDigest(bytes);
    if (digest !== previousDigest) await store.put(image.roomId, bytes);
    return { written: digest !== previousDigest, digest, bytes: bytes.byteLength };
  };
}
