/**
 * How the keeper saves one image: encoded and written by the store itself when it can (the
 * directory store's writer thread), else encoded here (brotli on libuv's pool) and put as
 * bytes — any {@link RoomStore}, the Redis one among them.
 * @module
 */
import type { RoomStore } from '../room-store.js';
import { DirectoryStore } from './dir-store.js';
import { encodeImage, savedRoomDigest, type RoomImage } from './image.js';
import type { WrittenImage } from './image-writer.js';

/**
 * Saves `image` unless its digest is `previousDigest`; the body's buffer is the saver's
 * (the caller made it for this save). Rejects as the store's `put` does.
 */
export type ImageSaver = (image: RoomImage, previousDigest: string | undefined) => Promise<WrittenImage>;

/** The way to save images into `store`. */
export function imageSaverOf(store: RoomStore): ImageSaver {
  // Only the directory store itself: a store of the user's own with a method of that name
  // means whatever it means, and gets bytes through `put` like any other.
  if (store instanceof DirectoryStore) return (image, previousDigest) => store.putImage(image, previousDigest, true);
  return async (image, previousDigest) => {
    const bytes = await encodeImage(image);
    const digest = savedRoomDigest(bytes);
    if (digest !== previousDigest) await store.put(image.roomId, bytes);
    return { written: digest !== previousDigest, digest, bytes: bytes.byteLength };
  };
}
