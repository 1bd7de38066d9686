/**
 * The Redis keys of scale-out (docs/cluster.md, "Redis keys"). Every key of one room carries the
 * same hash tag, so a script touching several of them runs on one shard of a Redis Cluster and
 * never meets CROSSSLOT. Room ids are arbitrary strings (braces, NUL, lone surrogates, 10 KiB),
 * so the tag is a digest of the id, never the id: fixed length, and free of `{` and `}`.
 * @module
 */
import { createHash } from 'node:crypto';

/** The prefix of every key stateroom writes, so it can share a Redis with other programs. */
export const KEY_PREFIX = 'sr:';
/** Set of the tags of rooms with an image (listing; off every hot path). */
export const ROOMS_KEY = `${KEY_PREFIX}rooms`;
/** Sorted set: tag → due time (epoch ms) of a saved room's pending timer. */
export const TIMERS_KEY = `${KEY_PREFIX}timers`;

/** The keys of one room; see {@link roomKeys}. */
export interface RoomKeys {
  /** Hash with a TTL: `node`, `url`, `fence` of the lease holder. */
  readonly lease: string;
  /** Integer: the room's newest fencing token; never decreases while it exists, and expires a retention (10 min by default) after the room's last grant or renewal. */
  readonly fence: string;
  /** Hash: `bytes` (the room image), `fence` (of the write that put it). */
  readonly image: string;
  /** String: the room id, JSON-encoded (exact for any JS string; see {@link encodeRoomId}). */
  readonly id: string;
  /** The hash tag itself (22 characters), as kept in {@link ROOMS_KEY} and {@link TIMERS_KEY}. */
  readonly tag: string;
}

/** The tag of a room: base64url SHA-256 of the id's UTF-16 code units (as dir-store.ts names files), cut to 22 characters (132 bits). */
export function roomTag(roomId: string): string {
  return createHash('sha256').update(Buffer.from(roomId, 'utf16le')).digest('base64url').slice(0, 22);
}

/** Every key of room `roomId`: `sr:{<tag>}:lease`, `…:fence`, `…:image`, `…:id`, all in one cluster slot. */
export function roomKeys(roomId: string): RoomKeys {
  return keysOfTag(roomTag(roomId));
}

/** The keys of the room whose tag is `tag` (a listing knows tags, not ids). */
export function keysOfTag(tag: string): RoomKeys {
  const base = `${KEY_PREFIX}{${tag}}:`;
  return { lease: `${base}lease`, fence: `${base}fence`, image: `${base}image`, id: `${base}id`, tag };
}

/** Where an image set aside goes: beside the room's other keys (same slot), named by time and a random suffix. */
export function asideKey(tag: string, stamp: string): string {
  return `${KEY_PREFIX}{${tag}}:aside:${stamp}`;
}

/**
 * The room id as kept in Redis: JSON, because a Redis string read back as UTF-8 would mangle a
 * lone surrogate, and JSON escapes those (`"\ud800"`) while ordinary ids stay readable in redis-cli.
 */
export function encodeRoomId(roomId: string): string {
  return JSON.stringify(roomId);
}

/** The room id from {@link encodeRoomId}'s text, or `undefined` when it is not one. */
export function decodeRoomId(text: string): string | undefined {
  try {
    const value: unknown = JSON.parse(text);
    return typeof value === 'string' ? value : undefined;
  } catch {
    return undefined;
  }
}
