/**
 * The query parameters a service sees in `ctx.clientInfo(client).query`: the client's own,
 * bounded, without those the server reads (a resume token is a secret the service never
 * gets). Pure, so every cap is unit-tested.
 * @module
 */
import { MAX_CLIENT_INFO_LENGTH, MAX_CLIENT_QUERY_KEY_LENGTH, MAX_CLIENT_QUERY_PARAMS } from '../service/checks.js';
import { SERVER_PARAMS } from './room-path.js';

const EMPTY: Readonly<Record<string, string>> = Object.freeze({});
/**
 * Credentials by the names browsers' WebSocket clients put them in the URL (they cannot set
 * headers): OAuth's bearer token (RFC 6750) and the common short forms. Kept from the service
 * as the resume token is — a service that shows `clientInfo` (a presence list) would hand one
 * client's credential to the others. `authorize` reads them from the request itself.
 */
const CREDENTIAL_PARAMS: ReadonlySet<string> = new Set(['access_token', 'accessToken', 'auth', 'authorization', 'jwt', 'password', 'secret', 'api_key', 'apiKey', 'key']);

/**
 * The parameters of `query` (a URL's query string, without `?`) a service may see (not the
 * server's own, nor credentials by their usual names): at most
 * {@link MAX_CLIENT_QUERY_PARAMS}, in order; names over {@link MAX_CLIENT_QUERY_KEY_LENGTH}
 * characters left out, values cut at {@link MAX_CLIENT_INFO_LENGTH}; a repeated name keeps its
 * first value. Frozen.
 */
export function clientQuery(query: string): Readonly<Record<string, string>> {
  if (query === '') return EMPTY;
  const kept = new Map<string, string>();
  for (const [key, value] of new URLSearchParams(query)) {
    if (kept.size >= MAX_CLIENT_QUERY_PARAMS) break;
    if (SERVER_PARAMS.has(key) || CREDENTIAL_PARAMS.has(key) || key.length > MAX_CLIENT_QUERY_KEY_LENGTH || kept.has(key)) continue;
    kept.set(key, value.length <= MAX_CLIENT_INFO_LENGTH ? value : value.slice(0, MAX_CLIENT_INFO_LENGTH));
  }
  // fromEntries defines own properties: a "__proto__" parameter is a plain key, not a prototype.
  return kept.size === 0 ? EMPTY : Object.freeze(Object.fromEntries(kept));
}
