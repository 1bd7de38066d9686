/** The bytes of a text payload: empty. */
const NO_BYTES = new Uint8Array(0);

/**
 * One message's content: text (a WebSocket text frame) or bytes (a binary frame).
 *
 * AssemblyScript has no `string | Uint8Array` union, so the kind is a flag. The field of
 * the other kind is empty rather than null, so that a comparison such as
 * `payload.text == "increment"` is simply false for a binary message.
 *
 * A text message from a client keeps the UTF-8 it came in until `text` is first read: a
 * service that passes it on unread (a relay, a broadcast) sends those bytes as they are,
 * without decoding and encoding them again. Once read, only the string is kept, so a service
 * that keeps messages holds each once.
 */
export class Payload {
  private constructor(
    /** `true` for a text message, `false` for a binary one. */
    readonly isText: bool,
    /** The text, once known (a text payload from the host is decoded on first use). */
    private decoded: string | null,
    /** A text payload's well-formed UTF-8 as it came from the host, until it is decoded. */
    private utf8: ArrayBuffer | null,
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
   * Internal (the SDK's codec): a text message from its UTF-8, which the caller has checked
   * to be well-formed. Not for services — use {@link fromText}.
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
      this.utf8 = null;
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

  /**
   * Internal (the SDK's codec): where the UTF-8 of an unread received text is, and how long,
   * to copy it into a message; 0 when there is none (the text was read, or was made here).
   * An address rather than the buffer, so that nothing can write into it.
   */
  receivedUtf8Address(): usize {
    const utf8 = this.utf8;
    return utf8 === null ? 0 : changetype<usize>(utf8);
  }

  /** Internal (the SDK's codec): the length of what {@link receivedUtf8Address} points to. */
  receivedUtf8Length(): usize {
    const utf8 = this.utf8;
    return utf8 === null ? 0 : <usize>utf8.byteLength;
  }
}
