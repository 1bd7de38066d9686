import { encodeBytesMessage, encodeSetTimer, encodeTextMessage, encodeUtf8Message } from "./codec";
import { sendToHost } from "./host";
import { Payload } from "./payload";
import { Recipient } from "./recipient";
import { TimerGate } from "./timer";

/**
 * How a service talks back to its room; passed to every callback. Everything it does is
 * handed to the host at once, in order, during the callback.
 *
 * Unlike the native API there is no `roomId`: the ABI does not tell a guest its room.
 */
export class Context {
  /** Created by the SDK, one per room; services never construct one. */
  constructor(private readonly timerGate: TimerGate) {}

  /**
   * Sends `payload` to `recipient`. The payload is a `string` (a text frame), a
   * `Uint8Array` (a binary frame) or a {@link Payload} (as it says). Any other type is a
   * compile error. A message to a client that has left is dropped by the host.
   *
   * @example
   * ctx.sendMessage(Recipient.broadcast(), "new value: " + value.toString());
   */
  sendMessage<T>(recipient: Recipient, payload: T): void {
    // The branches are resolved at compile time, once per payload type.
    if (isString<T>()) {
      sendToHost(encodeTextMessage(recipient, changetype<string>(payload)));
    } else if (payload instanceof Uint8Array) {
      sendToHost(encodeBytesMessage(recipient, changetype<Uint8Array>(payload)));
    } else if (payload instanceof Payload) {
      const message = changetype<Payload>(payload);
      const utf8 = message.receivedUtf8Address();
      sendToHost(
        utf8 !== 0
          ? encodeUtf8Message(recipient, utf8, message.receivedUtf8Length())
          : message.isText
            ? encodeTextMessage(recipient, message.text)
            : encodeBytesMessage(recipient, message.bytes),
      );
    } else {
      ERROR("sendMessage: the payload must be a string, a Uint8Array or a Payload");
    }
  }

  /**
   * Arms the room's one timer: `timer()` runs once, `ms` milliseconds from now (up to
   * 2^32 − 1). A new call replaces the outstanding timer; `0` fires it as soon as possible,
   * as a separate event after this callback returns.
   */
  setTimer(ms: u32): void {
    sendToHost(encodeSetTimer(ms));
    this.timerGate.arm();
  }

  /**
   * Cancels the outstanding timer, if any. The ABI cannot cancel a timer, so the host
   * still fires it; the SDK then drops that `Timer` event instead of calling `timer()`,
   * unless `setTimer` was called again in between (which replaces it on the host).
   */
  clearTimer(): void {
    this.timerGate.disarm();
  }
}
