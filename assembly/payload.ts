/**
 * One message's content: text (a WebSocket text frame) or bytes (a binary frame).
 *
 * AssemblyScript has no `string | Uint8Array` union, so the kind is a flag. The field of
 * the other kind is empty rather than null, so that a comparison such as
 * `payload.text == "increment"` is simply false for a binary message.
 */
export class Payload {
  private constructor(
    /** `true` for a text message, `false` for a binary one. */
    readonly isText: bool,
    /** The text of a text message; `""` for a binary message. */
    readonly text: string,
    /** The bytes of a binary message; empty for a text message. */
    readonly bytes: Uint8Array,
  ) {}

  /** A text message (sent as a WebSocket text frame). */
  static fromText(text: string): Payload {
    return new Payload(true, text, new Uint8Array(0));
  }

  /** A binary message (sent as a WebSocket binary frame). */
  static fromBytes(bytes: Uint8Array): Payload {
    return new Payload(false, "", bytes);
  }

  /** `true` for a binary message. */
  get isBytes(): bool {
    return !this.isText;
  }
}
