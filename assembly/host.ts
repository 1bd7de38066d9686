// The one function a Stateroom host provides besides WASI.

// @ts-ignore: decorator
@external("env", "stateroom_send")
declare function stateroom_send(address: usize, length: usize): void;

/**
 * Hands one encoded `MessageFromProcess` to the host. The host copies the bytes before it
 * returns, so the buffer may be collected right after.
 */
export function sendToHost(message: ArrayBuffer): void {
  stateroom_send(changetype<usize>(message), <usize>message.byteLength);
}
