/**
 * What the server and its clients agree on outside any service: WebSocket close codes the
 * server sends, the subprotocols a client may offer, and the longest timer delay. The client
 * (`src/client/`) keeps its own copies so that it imports nothing of the server; a test
 * checks that the two agree.
 * @module
 */

/** The server is shutting down (RFC 6455 "going away"). */
export const CLOSE_GOING_AWAY = 1001;
/** A client over its rate limit for too long ("policy violation"). */
export const CLOSE_POLICY = 1008;
/** A client's message was larger than `maxPayloadBytes` ("message too big"). */
export const CLOSE_TOO_BIG = 1009;
/** The room's service failed, or the client could not be seated ("internal error"). */
export const CLOSE_INTERNAL_ERROR = 1011;
/** The service was reloaded (`stateroom dev`, `reload()`): reconnect ("service restart"). */
export const CLOSE_SERVICE_RESTART = 1012;
/** A client that does not read, or whose messages pile up behind the room ("try again later"). */
export const CLOSE_TRY_AGAIN_LATER = 1013;
/** A socket replaced by a newer one presenting the same token. */
export const CLOSE_REPLACED = 4001;
/**
 * Sent by `stateroom/client` to a connection it gives up on to try again (a connect timeout):
 * a drop, so the seat is held, where 1000 or 1001 from a client gives it up at once.
 */
export const CLOSE_RETRYING = 4002;

/**
 * Subprotocols a client may offer to learn whether it resumed its seat: the server picks
 * `stateroom.resumed` when it did and `stateroom.fresh` when it got a new seat. A server
 * that does not know them picks the first offered, so clients offer `fresh` first.
 */
export const PROTOCOL_FRESH = 'stateroom.fresh';
export const PROTOCOL_RESUMED = 'stateroom.resumed';
/**
 * Offered by a client that wants delivery exact both ways (`stateroom/client` does). The
 * server prefers it to the other two, wherever it is in the offer; the first frame it then
 * sends is a control frame, `{"seat":"resumed"|"fresh","received":<n>}`: whether the seat was
 * resumed, and how many of the client's messages the seat has received. See docs/client.md.
 */
export const PROTOCOL_EXACT = 'stateroom.exact';

/** The longest delay `setTimer` takes in one step of Node's timers (2^31 − 1 ms); longer ones are chained. */
export const MAX_TIMEOUT_MS = 2 ** 31 - 1;
