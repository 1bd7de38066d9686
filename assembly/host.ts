// The one function a Stateroom host provides besides WASI.

import { ByteWriter } from "./writer";

// @ts-ignore: decorator
@external("env", "stateroom_send")
declare function stateroom_send(address: usize, length: usize): void;

/**
 * Hands one encoded `MessageFromProcess` to the host. The host copies the bytes before it
 * returns, so the writer's buffer may take the next message right after.
 */
export function sendToHost(message: ByteWriter): void {
  stateroom_send(message.start, message.length);
  message.sent();
}
