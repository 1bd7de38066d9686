/**
 * The body of a room image: the room's own part of its state (client ids, who was connected)
 * around the adapter's opaque bytes. The image's header carries the rest (kind, module hash,
 * saved at, timer due).
 *
 * Layout, little-endian: u8 version (1) · u32 last client id · u32 count · count × u32 client
 * id · the adapter's bytes to the end.
 * @module
 */
import { ErrorCode, StateroomError } from '../errors.js';
import type { RoomState } from '../room/state.js';

const VERSION = 1;
const FIXED_BYTES = 1 + 4 + 4;

/** The room's state as an image body; a state without adapter bytes has none. */
export function encodeSavedRoom(state: RoomState & { readonly body: Uint8Array }): Uint8Array {
  const out = new Uint8Array(FIXED_BYTES + 4 * state.clients.length + state.body.byteLength);
  const view = new DataView(out.buffer);
  view.setUint8(0, VERSION);
  view.setUint32(1, state.lastClientId, true);
  view.setUint32(5, state.clients.length, true);
  state.clients.forEach((client, i) => view.setUint32(FIXED_BYTES + 4 * i, client, true));
  out.set(state.body, FIXED_BYTES + 4 * state.clients.length);
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
  if (view.getUint8(0) !== VERSION) throw corrupt(`its room format version is ${view.getUint8(0)}, this server reads ${VERSION}`);
  const count = view.getUint32(5, true);
  const bodyStart = FIXED_BYTES + 4 * count;
  if (bodyStart > bytes.byteLength) throw corrupt(`it lists ${count} clients in ${bytes.byteLength} bytes`);
  const clients = Array.from({ length: count }, (_, i) => view.getUint32(FIXED_BYTES + 4 * i, true));
  return { lastClientId: view.getUint32(1, true), clients, timerDueAt, body: bytes.subarray(bodyStart) };
}
