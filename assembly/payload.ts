/** The bytes of a text payload, and the text of a binary one: empty. */
const NO_BYTES = new Uint8Array(0);

/**
 * One message's content: text (a WebSocket text frame) or bytes (a binary frame).
 *
 * AssemblyScript has no `string | Uint8Array` union, so the kind is a flag. The field of
 * the other kind is empty rather than null, so that a comparison such as
 * `payload.text == "increment"` is simply false for a binary message.
 *
 * A text message from a client keeps the UTF-8 it came in and is decoded to a string only
 * when `text` is first read: a service that passes messages on (a relay, a broadcast) sends
 * those bytes as they are, without decoding and encoding them again.
 */
export class Payload {
  private constructor(
    /** `true` for a text message, `false` for a binary one. */
    readonly isText: bool,
    /** The text, once known (a text payload from the host is decoded on first use). */
    private decoded: string | null,
    /** A text payload's well-formed UTF-8 as it came from the host, or null. */
    private readonly utf8: ArrayBuffer | null,
    private readonly data: Uint8Array,
  ) {}

  /** A text message (sent as a WebSocket text frame). */
  static fromText(text: string): Payload {
    return new Payload(true, text, null, NO_BYTES);
  }

  /** A binary message (sent as a WebSocket binary frame). */
  static fromBytes(bytes: Uint8Array): Payload {
    return new Payload(false, "", null, bytes);
  }

  /**
   * A text message from its UTF-8, already checked to be well-formed (the SDK's codec makes
   * these from what the host sends).
   */
  static fromCheckedUtf8(utf8: ArrayBuffer): Payload {
    return new Payload(true, null, utf8, NO_BYTES);
  }

  /** The text of a text message; `""` for a binary message. */
  get text(): string {
    let text = this.decoded;
    if (text === null) {
      text = String.UTF8.decode(this.utf8!);
      this.decoded = text;
    }
    return text;
  }

  /** The bytes of a binary message; empty for a text message. */
  get bytes(): Uint8Array {
    return this.data;
  }

  /** `true` for a binary message. */
  get isBytes(): bool {
    return !this.isText;
  }

  /** The UTF-8 a text message came in, if it came from the host and is unchanged; else null. */
  get receivedUtf8(): ArrayBuffer | null {
    return this.utf8;
  }
}
