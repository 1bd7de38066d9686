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
  return `${JSON.stringify(recipient) ?? String(recipient)} is not a client id, 'broadcast' or { except: id }`;
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
