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
 * The parameters of `query` (a URL's query string, without `?`) a service may see: at most
 * {@link MAX_CLIENT_QUERY_PARAMS}, in order; names over {@link MAX_CLIENT_QUERY_KEY_LENGTH}
 * characters left out, values cut at {@link MAX_CLIENT_INFO_LENGTH}; a repeated name keeps its
 * first value. Frozen.
 */
export function clientQuery(query: string): Readonly<Record<string, string>> {
  if (query === '') return EMPTY;
  const kept = new Map<string, string>();
  for (const [key, value] of new URLSearchParams(query)) {
    if (kept.size >= MAX_CLIENT_QUERY_PARAMS) break;
    if (SERVER_PARAMS.has(key) || key.length > MAX_CLIENT_QUERY_KEY_LENGTH || kept.has(key)) continue;
    kept.set(key, value.length <= MAX_CLIENT_INFO_LENGTH ? value : value.slice(0, MAX_CLIENT_INFO_LENGTH));
  }
  // fromEntries defines own properties: a "__proto__" parameter is a plain key, not a prototype.
  return kept.size === 0 ? EMPTY : Object.freeze(Object.fromEntries(kept));
}
