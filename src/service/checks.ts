/**
 * Run-time checks on what a service hands back, for services written in plain JavaScript
 * (or cast past the types): each returns why a value is wrong, or `undefined`.
 * @module
 */

/** The largest client id: ids are u32, never 0. */
export const MAX_CLIENT_ID = 2 ** 32 - 1;

/** Whether `id` is a valid `ClientId`: an integer from 1 to 2^32 − 1. */
export function isClientId(id: unknown): id is number {
  return typeof id === 'number' && Number.isInteger(id) && id >= 1 && id <= MAX_CLIENT_ID;
}

/** Why `recipient` is not a `Recipient`, or `undefined` when it is one. */
export function whyNotARecipient(recipient: unknown): string | undefined {
  if (recipient === 'broadcast' || isClientId(recipient)) return undefined;
  if (typeof recipient === 'object' && recipient !== null && 'except' in recipient) {
    const except = (recipient).except;
    return isClientId(except) ? undefined : `{ except: ${String(except)} } does not name a client id`;
  }
  return `${shown(recipient)} is not a client id, 'broadcast' or { except: id }`;
}

/** A value a service passed, shown in an error: JSON when it has one, else its kind (a BigInt or a cycle has none). */
export function shown(value: unknown): string {
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    return typeof value === 'bigint' ? `${value}n` : `a value of type ${typeof value} that is not JSON`;
  }
}

/** Why `payload` is not a `Payload`, or `undefined` when it is one. */
export function whyNotAPayload(payload: unknown): string | undefined {
  if (typeof payload === 'string' || payload instanceof Uint8Array) return undefined;
  const kind = payload === null ? 'null' : typeof payload;
  return `a payload must be a string (text frame) or a Uint8Array (binary frame), not ${kind}`;
}

/** Whether `ms` is a delay `setTimer` accepts. */
export function isDelay(ms: unknown): ms is number {
  return typeof ms === 'number' && Number.isFinite(ms) && ms >= 0;
}

/** The longest close reason, in UTF-8 bytes: a close frame's body is at most 125 bytes, 2 of them the code. */
export const MAX_CLOSE_REASON_BYTES = 123;

/**
 * Why `code` and `reason` cannot close a client from a service, or `undefined` when they can:
 * a service may send 1000 (normal closure) or a code of the application range, 3000–4999; the
 * others are the protocol's, or the server's to send.
 */
export function whyNotAClose(code: unknown, reason: unknown): string | undefined {
  if (!(code === 1000 || (typeof code === 'number' && Number.isInteger(code) && code >= 3000 && code <= 4999))) {
    return `the close code must be 1000 or from 3000 to 4999, not ${typeof code === 'number' ? String(code) : typeof code}`;
  }
  if (typeof reason !== 'string') return `the close reason must be a string, not ${reason === null ? 'null' : typeof reason}`;
  // Cheap first: a reason of at most 41 UTF-16 units is at most 123 bytes (3 per unit at most).
  const bytes = reason.length <= MAX_CLOSE_REASON_BYTES / 3 ? 0 : Buffer.byteLength(reason, 'utf8');
  if (bytes > MAX_CLOSE_REASON_BYTES) return `the close reason must be at most ${MAX_CLOSE_REASON_BYTES} bytes in UTF-8, not ${bytes}`;
  return undefined;
}

/** The longest string a `ClientInfo` keeps, in UTF-16 code units (longer ones are cut). */
export const MAX_CLIENT_INFO_LENGTH = 256;

/** The most query parameters a `ClientInfo` keeps (the first ones, in URL order). */
export const MAX_CLIENT_QUERY_PARAMS = 16;

/** The longest query parameter name a `ClientInfo` keeps, in UTF-16 code units (longer ones are left out). */
export const MAX_CLIENT_QUERY_KEY_LENGTH = 64;

/** The largest user object `authorize` may name, as JSON in UTF-8 bytes. */
export const MAX_CLIENT_USER_BYTES = 4096;
