import { ClientId } from "./client-id";

/**
 * The three kinds of recipient. The values are the ABI's `MessageRecipient` variant
 * indices, so the codec writes them as they are.
 */
export const enum RecipientKind {
  /** Every client in the room. */
  Broadcast = 0,
  /** One client. */
  Client = 1,
  /** Every client in the room but one. */
  EveryoneExcept = 2,
}

/** Who receives a message: `Recipient.client(id)`, `Recipient.broadcast()` or `Recipient.except(id)`. */
export class Recipient {
  private static readonly everyone: Recipient = new Recipient(RecipientKind.Broadcast, 0);

  private constructor(
    readonly kind: RecipientKind,
    /** The client concerned; 0 (no client) for a broadcast. */
    readonly client: ClientId,
  ) {}

  /** Just this one client. */
  static client(id: ClientId): Recipient {
    return new Recipient(RecipientKind.Client, id);
  }

  /** Every client in the room (one shared value: a recipient never changes). */
  static broadcast(): Recipient {
    return Recipient.everyone;
  }

  /** Every client in the room except `id` (typically the sender). */
  static except(id: ClientId): Recipient {
    return new Recipient(RecipientKind.EveryoneExcept, id);
  }
}
