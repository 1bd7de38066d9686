/**
 * The client's copies of what it shares with the server (`src/protocol.ts`): the client
 * imports nothing of the server, so it can be bundled alone. `protocol.test.ts` checks that
 * the copies agree.
 * @module
 */

/** The server is going away; the client reconnects. */
export const CLOSE_GOING_AWAY = 1001;
/** Refused by the server's policy (a rate limit): reconnecting would repeat it. */
export const CLOSE_POLICY = 1008;
/** A message was too big: reconnecting would repeat it. */
export const CLOSE_TOO_BIG = 1009;
/** The room's service failed: reconnect, with a growing backoff. */
export const CLOSE_INTERNAL_ERROR = 1011;
/** The service was reloaded: reconnect. */
export const CLOSE_SERVICE_RESTART = 1012;
/** The server asks to try again later: reconnect, with a growing backoff. */
export const CLOSE_TRY_AGAIN_LATER = 1013;
/** Another socket took this client's seat (same token): do not fight it. */
export const CLOSE_REPLACED = 4001;
/**
 * Sent by the client to a connection it gives up on in order to try again (a connect timeout):
 * not 1000, which tells the server the client is leaving and its seat need not be held.
 */
export const CLOSE_RETRYING = 4002;

/** Offered to learn whether the server resumed the seat; see the server's protocol module. */
export const PROTOCOL_FRESH = 'stateroom.fresh';
export const PROTOCOL_RESUMED = 'stateroom.resumed';
/** Offered for delivery exact both ways: the server's first frame then says what it received. */
export const PROTOCOL_EXACT = 'stateroom.exact';
