/**
 * Placement: where a room lives. The transport asks only this interface to seat a client,
 * so "here, in this process" (the {@link RoomRegistry}) can later become "worker N" or
 * "node X of the cluster" without the transport changing.
 * @module
 */
import type { ClientId, Payload } from '../service/types.js';
import type { ClientSink, Identity } from './seat.js';

/** A client's place in a room, as the transport holds it. */
export interface SeatHandle {
  readonly roomId: string;
  readonly clientId: ClientId;
  /** Whether the client took back a seat it held (and got what it missed) rather than a new one. */
  readonly resumed: boolean;
  /** Hands a message from this client to its room. */
  message(payload: Payload): void;
  /**
   * A message from this client arrived but the transport dropped it (its rate limit): it
   * counts as received by the seat, so an exact client will not send it again.
   */
  skipped(): void;
  /**
   * This connection is gone; idempotent. The room holds the seat for a resume, or gives it up
   * at once when `leaving` (the client closed on purpose) or it has no token.
   */
  leave(leaving?: boolean): void;
}

/** The answer to {@link Placement.admit}. */
export type Admission =
  | { readonly ok: true; readonly resumes: boolean }
  | { readonly ok: false; readonly status: number; readonly reason: string };

/** Decides where rooms live and seats clients in them. */
export interface Placement {
  /**
   * Seats a client in room `roomId`, creating the room if it does not exist.
   * @throws {@link StateroomError} when the room cannot take another client.
   */
  join(roomId: string, sink: ClientSink, identity?: Identity): SeatHandle;
  /**
   * Whether a client may join `roomId` now (room and client limits), and whether it would
   * resume a held seat. Asked right before the upgrade, so a refusal is an HTTP status. May
   * answer later (a promise) when it must first read where the room was saved.
   */
  admit(roomId: string, identity: Identity): Admission | Promise<Admission>;
  /** Disposes every room (after the events already queued) and resolves when done. */
  close(): Promise<void>;
}
