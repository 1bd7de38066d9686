/**
 * The body of a room image: the room's own part of its state (client ids, who was connected,
 * which client id each recent token had) around the adapter's opaque bytes. The image's header
 * carries the rest (kind, module hash, saved at, timer due).
 *
 * Layout, little-endian: u8 version (2) · u32 last client id · u32 count · count × u32 client
 * id · u32 token count · token count × (16-byte token digest · u32 client id) · the adapter's
 * bytes to the end. Version 1 (no token part) still reads.
 * @module
 */
import { ErrorCode, StateroomError } from '../errors.js';
import { TOKEN_DIGEST_BYTES, type RoomState } from '../room/state.js';

const VERSION = 2;
const FIXED_BYTES = 1 + 4 + 4;
const TOKEN_BYTES = TOKEN_DIGEST_BYTES + 4;

/** The room's state as an image body; a state without adapter bytes has none. */
export function encodeSavedRoom(state: RoomState & { readonly body: Uint8Array }): Uint8Array {
  return joinSavedRoom(encodeSavedRoomHead(state), state.body);
}

/**
 * The room's own part of an image body: every byte before the adapter's. With the adapter's
 * bytes after it ({@link joinSavedRoom}) it is {@link encodeSavedRoom}'s body, so the join can
 * happen on another thread (the state directory's writer) instead of the server thread.
 */
export function encodeSavedRoomHead(state: Omit<RoomState, 'body'>): Uint8Array {
  const tokens = state.tokenIds ?? [];
  const tokensAt = FIXED_BYTES + 4 * state.clients.length;
  const out = new Uint8Array(tokensAt + 4 + TOKEN_BYTES * tokens.length);
  const view = new DataView(out.buffer);
  view.setUint8(0, VERSION);
  view.setUint32(1, state.lastClientId, true);
  view.setUint32(5, state.clients.length, true);
  state.clients.forEach((client, i) => view.setUint32(FIXED_BYTES + 4 * i, client, true));
  view.setUint32(tokensAt, tokens.length, true);
  tokens.forEach(([digest, client], i) => {
    const at = tokensAt + 4 + TOKEN_BYTES * i;
    out.set(digest.subarray(0, TOKEN_DIGEST_BYTES), at);
    view.setUint32(at + TOKEN_DIGEST_BYTES, client, true);
  });
  return out;
}

/** An image body from its room part ({@link encodeSavedRoomHead}) and the adapter's bytes. */
export function joinSavedRoom(head: Uint8Array, body: Uint8Array): Uint8Array {
  const out = new Uint8Array(head.byteLength + body.byteLength);
  out.set(head, 0);
  out.set(body, head.byteLength);
  return out;
}

/**
 * The state an image body holds, with the timer the image's header carries.
 * @throws {@link StateroomError} `SR_ERR_IMAGE_CORRUPT` when the body is not one.
 */
export function decodeSavedRoom(bytes: Uint8Array, timerDueAt: number | undefined, where: string): RoomState {
  const corrupt = (why: string): StateroomError => new StateroomError(ErrorCode.IMAGE_CORRUPT, `${where}: the room's saved state is unreadable: ${why}`, { file: where });
  if (bytes.byteLength < FIXED_BYTES) throw corrupt(`${bytes.byteLength} bytes, too short`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const version = view.getUint8(0);
  if (version !== 1 && version !== VERSION) throw corrupt(`its room format version is ${version}, this server reads 1 and ${VERSION}`);
  const count = view.getUint32(5, true);
  const tokensAt = FIXED_BYTES + 4 * count;
  if (tokensAt > bytes.byteLength) throw corrupt(`it lists ${count} clients in ${bytes.byteLength} bytes`);
  const clients = Array.from({ length: count }, (_, i) => view.getUint32(FIXED_BYTES + 4 * i, true));
  const room = { lastClientId: view.getUint32(1, true), clients, timerDueAt };
  if (version === 1) return { ...room, body: bytes.subarray(tokensAt) };
  if (tokensAt + 4 > bytes.byteLength) throw corrupt(`no token count after ${count} clients in ${bytes.byteLength} bytes`);
  const tokenCount = view.getUint32(tokensAt, true);
  const bodyAt = tokensAt + 4 + TOKEN_BYTES * tokenCount;
  if (bodyAt > bytes.byteLength) throw corrupt(`it lists ${tokenCount} tokens in ${bytes.byteLength} bytes`);
  const tokenIds = Array.from({ length: tokenCount }, (_, i): readonly [Uint8Array, number] => {
    const at = tokensAt + 4 + TOKEN_BYTES * i;
    return [bytes.slice(at, at + TOKEN_DIGEST_BYTES), view.getUint32(at + TOKEN_DIGEST_BYTES, true)];
  });
  return { ...room, tokenIds, body: bytes.subarray(bodyAt) };
}
