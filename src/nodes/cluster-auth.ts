/**
 * Node-to-node trust: the cluster secret every node of a cluster shares, and the header a
 * node adds when it forwards a client's upgrade to the room's owner. The owner believes the
 * client's address (and that the request's Origin is the client's) only from a request that
 * carries a valid signature of this header — never from `X-Forwarded-For` or anything else a
 * client or a load balancer could write.
 *
 * The signature binds the request's method and url, the client's address and the forwarding
 * node's id. It carries no time: clocks of different machines are never compared
 * (docs/cluster.md), so a header overheard on the wire between nodes could be replayed for the
 * same request — node-to-node traffic belongs on a private network.
 * @module
 */
import { createHmac, createSecretKey, timingSafeEqual, type KeyObject } from 'node:crypto';
import { isIP } from 'node:net';
import { inspect } from 'node:util';
import { ErrorCode, StateroomError } from '../errors.js';

/** The header a forwarding node adds to the upgrade request it passes to the owner. */
export const FORWARDED_HEADER = 'x-stateroom-forwarded';

/** Fewest characters a cluster secret may have (after trimming), so that it cannot be guessed. */
export const MIN_SECRET_CHARS = 32;

/** Version tag of the header's format and of what the MAC covers. */
const VERSION = 'v1';
/** Bytes of an HMAC-SHA256. */
const MAC_BYTES = 32;
/** A value longer than this is not ours (an IPv6 address, a node id and a MAC fit easily). */
const MAX_VALUE_CHARS = 1024;

/** The HMAC-SHA256 of `text` under `secret` (set by the class's static block). */
let macOf: (secret: ClusterSecret, text: string) => Buffer;

/**
 * The secret the nodes of one cluster share. It is never printable: `toString`, `util.inspect`
 * and `JSON.stringify` show `[ClusterSecret]`, so a logged options object cannot leak it.
 */
export class ClusterSecret {
  readonly #key: KeyObject;

  private constructor(key: KeyObject) {
    this.#key = key;
  }

  /**
   * A secret from text (a file's contents, an option): surrounding whitespace (a file's
   * trailing newline) is trimmed.
   * @throws {@link StateroomError} `SR_ERR_OPTIONS_INVALID` when fewer than 32 characters remain.
   */
  static fromText(text: string): ClusterSecret {
    const trimmed = typeof text === 'string' ? text.trim() : '';
    if (trimmed.length < MIN_SECRET_CHARS) {
      // The message never quotes the text: it might be most of a real secret.
      throw new StateroomError(
        ErrorCode.OPTIONS_INVALID,
        `clusterSecret must be at least ${MIN_SECRET_CHARS} characters (got ${trimmed.length}); e.g. openssl rand -base64 48 > secret.txt`,
        { option: 'clusterSecret' },
      );
    }
    return new ClusterSecret(createSecretKey(Buffer.from(trimmed, 'utf8')));
  }

  static {
    // The only way to the key, and it stays in this module: nothing outside can read it or MAC with it.
    macOf = (secret, text) => createHmac('sha256', secret.#key).update(text, 'utf8').digest();
  }

  toString(): string {
    return '[ClusterSecret]';
  }

  toJSON(): string {
    return '[ClusterSecret]';
  }

  [inspect.custom](): string {
    return '[ClusterSecret]';
  }
}

/** What a forwarding node signs about the request it passes on. */
export interface ForwardedFields {
  /** The forwarding node's id. */
  readonly nodeId: string;
  /** The client's address as the forwarding node's socket saw it. */
  readonly clientAddress: string;
  /** The request's method, as it is written on the request line. */
  readonly method: string;
  /** The request's target (path and query), as it is written on the request line. */
  readonly url: string;
}

/** The text the MAC covers: JSON of an array, so no field can run into the next. */
function signedText(fields: ForwardedFields): string {
  return JSON.stringify([FORWARDED_HEADER, VERSION, fields.method, fields.url, fields.clientAddress, fields.nodeId]);
}

/**
 * The value of {@link FORWARDED_HEADER} a forwarding node adds: who the client really is
 * (its address, and — by vouching for the request — that the Origin header is the client's),
 * signed with HMAC-SHA256 over the request's method, url, the client's address and the node id.
 * Format: `v1.<node id, base64url>.<address, base64url>.<MAC, base64url>` — header-safe
 * whatever the node id holds.
 */
export function signForwarded(secret: ClusterSecret, fields: ForwardedFields): string {
  const mac = macOf(secret, signedText(fields));
  return [VERSION, b64(fields.nodeId), b64(fields.clientAddress), mac.toString('base64url')].join('.');
}

/**
 * Checks a {@link FORWARDED_HEADER} value as received (`value` may be `undefined`: no header)
 * against this request. Returns the client's address and the forwarding node's id when the
 * value is a valid signature, by a holder of `secret`, for this very method and url; else
 * `undefined` — and then the request must be treated as coming from its socket's peer.
 * The MAC is compared in constant time.
 */
export function verifyForwarded(
  secret: ClusterSecret,
  value: string | undefined,
  request: { readonly method: string; readonly url: string },
): { clientAddress: string; nodeId: string } | undefined {
  if (typeof value !== 'string' || value.length > MAX_VALUE_CHARS) return undefined;
  const parts = value.split('.');
  if (parts.length !== 4 || parts[0] !== VERSION) return undefined;
  const nodeId = unb64(parts[1]!);
  const clientAddress = unb64(parts[2]!);
  const given = strictBytes(parts[3]!);
  if (nodeId === undefined || clientAddress === undefined || given === undefined || given.length !== MAC_BYTES) return undefined;
  // Only a signer could have put a non-address here, but an owner must never log or count garbage as an address.
  if (isIP(clientAddress) === 0) return undefined;
  const expected = macOf(secret, signedText({ nodeId, clientAddress, method: request.method, url: request.url }));
  return timingSafeEqual(given, expected) ? { clientAddress, nodeId } : undefined;
}

function b64(text: string): string {
  return Buffer.from(text, 'utf8').toString('base64url');
}

/** Bytes of canonical base64url, or `undefined`: Node's decoder skips junk, so a round trip proves none was there. */
function strictBytes(text: string): Buffer | undefined {
  const bytes = Buffer.from(text, 'base64url');
  return bytes.toString('base64url') === text ? bytes : undefined;
}

function unb64(text: string): string | undefined {
  const bytes = strictBytes(text);
  if (bytes === undefined) return undefined;
  const decoded = bytes.toString('utf8');
  // Invalid UTF-8 decodes with replacement characters: not what any signer wrote.
  return Buffer.from(decoded, 'utf8').equals(bytes) ? decoded : undefined;
}
