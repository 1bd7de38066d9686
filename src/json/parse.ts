/**
 * Reading one frame as a typed message, for both ends: text that parses as JSON into an
 * object with a string `type`. What is not one becomes a {@link Rejection} that says why in
 * a bounded sentence (a remote peer chooses the input, not the size of the answer).
 * @module
 */
import type { Rejection, RejectionReason } from './messages.js';

/** A frame read: a typed message, or why it is not one. */
export type Parsed = { readonly message: { readonly type: string } } | { readonly rejection: Rejection };

/** The most of a peer's text (a type name, a parser's complaint) an answer repeats. */
const ECHO_CHARS = 64;
/** The most type names an answer lists. */
const LISTED_TYPES = 20;

/**
 * Reads `data` as a typed message. `known` (the server's handler names) also refuses a
 * `type` outside it; without it any string `type` is taken.
 */
export function parseMessage(data: string | Uint8Array, known?: ReadonlySet<string>): Parsed {
  if (typeof data !== 'string') return reject('binary', `binary frames are not taken here: send a JSON object with a "type"${takes(known)}`);
  let value: unknown;
  try {
    value = JSON.parse(data);
  } catch (err) {
    return reject('not-json', `the message is not JSON (${clip(err instanceof Error ? err.message : String(err))})`);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    return reject('not-object', `a message is a JSON object with a "type", not ${kindOf(value)}`);
  }
  const { type } = value as { type?: unknown };
  if (typeof type !== 'string') return reject('no-type', `the message has no string "type"${takes(known)}`);
  if (known && !known.has(type)) return reject('unknown-type', `unknown message type ${JSON.stringify(clip(type))}${takes(known)}`);
  return { message: value as { type: string } };
}

function reject(error: RejectionReason, message: string): Parsed {
  return { rejection: { type: 'error', error, message } };
}

/** ` (this room takes: a, b, c)`, or nothing when the types are not known. */
function takes(known: ReadonlySet<string> | undefined): string {
  if (!known) return '';
  const names = [...known].slice(0, LISTED_TYPES).map(clip);
  const more = known.size > LISTED_TYPES ? `, … (${known.size} in all)` : '';
  return known.size === 0 ? ' (this room takes no messages)' : ` (this room takes: ${names.join(', ')}${more})`;
}

function kindOf(value: unknown): string {
  if (value === null) return 'null';
  return Array.isArray(value) ? 'an array' : `a ${typeof value}`;
}

function clip(text: string): string {
  return text.length > ECHO_CHARS ? `${text.slice(0, ECHO_CHARS)}…` : text;
}
