/**
 * A client's id within its room: an integer from 1 to 2^32 − 1, unique within the room
 * and never reused while the room lives (the ABI's `ClientId(u32)` newtype).
 */
export type ClientId = u32;
