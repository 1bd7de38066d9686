/**
 * What an `authorize` hook's answer means: admit (maybe as a user), refuse with a status, or
 * an answer the hook may not give. The user a hook names is checked and copied here, once per
 * admitted upgrade, so a room keeps a bounded, frozen value whatever the hook handed back.
 * Pure, so every rule is unit-tested.
 * @module
 */
import { createHash } from 'node:crypto';
import { MAX_CLIENT_USER_BYTES } from '../service/checks.js';
import type { ClientUser, JsonValue } from '../service/types.js';

export type Verdict =
  | { readonly kind: 'admit'; readonly user?: ClientUser }
  | { readonly kind: 'refuse'; readonly status: number; readonly reason: string }
  /** The hook answered something it may not: `why` says what, for the server's log. */
  | { readonly kind: 'invalid'; readonly why: string };

const SHAPES = 'true, false, { status, reason } or { user } (a string, or a JSON object)';

/** Reads an `authorize` hook's (awaited) answer. */
export function readVerdict(answer: unknown): Verdict {
  if (answer === true) return { kind: 'admit' };
  if (answer === false) return { kind: 'refuse', status: 403, reason: 'forbidden' };
  if (typeof answer !== 'object' || answer === null) return { kind: 'invalid', why: `it returned ${describe(answer)}; it must return ${SHAPES}` };
  if ('user' in answer) {
    const checked = userOf(answer.user);
    return checked.ok ? { kind: 'admit', user: checked.user } : { kind: 'invalid', why: checked.why };
  }
  if ('status' in answer) {
    const { status, reason } = answer as { status: unknown; reason?: unknown };
    const valid = typeof status === 'number' && Number.isInteger(status) && status >= 400 && status <= 599;
    return { kind: 'refuse', status: valid ? status : 403, reason: typeof reason === 'string' ? reason : 'forbidden' };
  }
  return { kind: 'invalid', why: `it returned an object with neither user nor status; it must return ${SHAPES}` };
}

/**
 * The user as the room keeps it: a string as it is; an object as a deep-frozen copy of its
 * JSON, which bounds it (at most {@link MAX_CLIENT_USER_BYTES}) and leaves nothing of the
 * hook's own objects (a class, a getter, a shared reference the hook mutates later).
 */
function userOf(user: unknown): { ok: true; user: ClientUser } | { ok: false; why: string } {
  if (typeof user === 'string') return { ok: true, user };
  if (typeof user !== 'object' || user === null || Array.isArray(user)) {
    return { ok: false, why: `its user is ${describe(user)}; a user is a string or a JSON object` };
  }
  let json: string;
  try {
    json = JSON.stringify(user);
  } catch (err) {
    return { ok: false, why: `its user cannot be written as JSON (${err instanceof Error ? err.message : String(err)})` };
  }
  const bytes = Buffer.byteLength(json, 'utf8');
  if (bytes > MAX_CLIENT_USER_BYTES) {
    return { ok: false, why: `its user is ${bytes} bytes as JSON, over the ${MAX_CLIENT_USER_BYTES}-byte limit; name the user by what the service needs (an id, a name), not a whole token or profile` };
  }
  const copy = JSON.parse(json) as unknown;
  // A toJSON() (a Date's, say) can turn the object into something else.
  if (typeof copy !== 'object' || copy === null || Array.isArray(copy)) return { ok: false, why: `its user's JSON is ${describe(copy)}, not an object` };
  return { ok: true, user: deepFreeze(copy as { [key: string]: JsonValue }) };
}

/**
 * The token a room keys a seat by, for `token` presented by a client admitted as `user`. Bound
 * and unbound tokens live in separate namespaces (`t.`, and `u.`/`o.` for string and object
 * users): otherwise a client admitted without a user could present a bound token it computed
 * (from a stolen token and a known user name) and take that user's seat.
 */
export function seatToken(user: ClientUser | undefined, token: string): string {
  if (user === undefined) return `t.${token}`;
  return typeof user === 'string' ? bindToken(user, token) : `o.${digest(canonicalJson(user), token)}`;
}

/**
 * The token a room sees for `token` presented by a string `user`: the same pair always gives
 * the same seat, and another user with the same token a different one. Hashed, so that it
 * stays within the token length and does not put the user name in the room's maps.
 */
export function bindToken(user: string, token: string): string {
  return `u.${digest(user, token)}`;
}

function digest(user: string, token: string): string {
  return createHash('sha256').update(user).update('\0').update(token).digest('base64url');
}

/** JSON with every object's keys sorted: the same user gives the same text whatever its key order. */
export function canonicalJson(value: JsonValue): string {
  if (typeof value !== 'object' || value === null) return JSON.stringify(value);
  if (Array.isArray(value)) return `[${(value as readonly JsonValue[]).map(canonicalJson).join(',')}]`;
  const record = value as { readonly [key: string]: JsonValue };
  return `{${Object.keys(record).sort().map((key) => `${JSON.stringify(key)}:${canonicalJson(record[key]!)}`).join(',')}}`;
}

function deepFreeze<T extends object>(value: T): T {
  for (const inner of Object.values(value)) if (typeof inner === 'object' && inner !== null) deepFreeze(inner as object);
  return Object.freeze(value);
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  return typeof value === 'string' ? 'a string' : typeof value === 'object' ? 'an object' : `${typeof value === 'undefined' ? 'undefined' : `a ${typeof value}`}`;
}
