/**
 * Placement: where a room lives. The transport asks only this interface to seat a client,
 * so "here, in this process" (the {@link RoomRegistry}) can later become "worker N" or
 * "node X of the cluster" without the transport changing.
 * @module
 */
import type { ClientId, Payload } from '../service/types.js';
import type { ClientSink } from './room.js';

/** A client's place in a room, as the transport holds it. */
export interface Seat {
  readonly roomId: string;
  readonly clientId: ClientId;
  /** Hands a message from this client to its room. */
  message(payload: Payload): void;
  /** The client is gone; idempotent. Its room delivers `disconnect`. */
  leave(): void;
}

/** Decides where rooms live and seats clients in them. */
export interface Placement {
  /**
   * Seats a client in room `roomId`, creating the room if it does not exist.
   * @throws {@link StateroomError} when the room cannot take another client.
   */
  join(roomId: string, sink: ClientSink): Seat;
  /** Disposes every room (after the events already queued) and resolves when done. */
  close(): Promise<void>;
}
