/**
 * Typed errors: a stable `code` users can match on, a message that says what went wrong and
 * what to do, and the context (room, client, file) it happened in. `docs/errors.md` mirrors
 * the code table.
 * @module
 */

/** Every error code stateroom raises. Match on these, never on message text. */
export const ErrorCode = {
  /** An option passed to `serve()` or the CLI is unknown or out of range. */
  OPTIONS_INVALID: 'SR_ERR_OPTIONS_INVALID',
  /** A service callback threw or its promise rejected; the room goes on. */
  SERVICE_THREW: 'SR_ERR_SERVICE_THREW',
  /** The service module could not be loaded or its default export is not a service. */
  SERVICE_LOAD: 'SR_ERR_SERVICE_LOAD',
  /** `sendMessage` got a recipient or payload it cannot deliver. */
  BAD_SEND: 'SR_ERR_BAD_SEND',
  /** `setTimer` got a delay that is not a finite number ≥ 0. */
  BAD_TIMER: 'SR_ERR_BAD_TIMER',
  /** A room used up its 2^32 − 1 client ids (ids are never reused while a room lives). */
  CLIENT_IDS_EXHAUSTED: 'SR_ERR_CLIENT_IDS_EXHAUSTED',
  /** The server could not listen (port in use, permission denied, …). */
  LISTEN_FAILED: 'SR_ERR_LISTEN_FAILED',
} as const;
export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

/** Where an error happened. */
export interface ErrorContext {
  readonly roomId?: string;
  readonly clientId?: number;
  readonly file?: string;
  readonly option?: string;
}

/** The one error class stateroom throws; `code` says which kind it is. */
export class StateroomError extends Error {
  override readonly name = 'StateroomError';
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly context: ErrorContext = {},
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}

/** A short description of anything thrown, for log lines and error messages. */
export function describeThrown(thrown: unknown): string {
  if (thrown instanceof Error) return `${thrown.name}: ${thrown.message}`;
  return String(thrown);
}
