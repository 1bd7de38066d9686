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
  /** An `authorize` hook answered what it may not (not a verdict; a user that is not a string or a JSON object of at most 4 KiB); the client got 500. */
  AUTHORIZE_INVALID: 'SR_ERR_AUTHORIZE_INVALID',
  /** `setTimer` got a delay that is not a finite number ≥ 0. */
  BAD_TIMER: 'SR_ERR_BAD_TIMER',
  /** A room used up its 2^32 − 1 client ids (ids are never reused while a room lives). */
  CLIENT_IDS_EXHAUSTED: 'SR_ERR_CLIENT_IDS_EXHAUSTED',
  /** The server could not listen (port in use, permission denied, …). */
  LISTEN_FAILED: 'SR_ERR_LISTEN_FAILED',
  /** The file is not a valid WebAssembly module (or `.wat` text that does not assemble). */
  WASM_INVALID: 'SR_ERR_WASM_INVALID',
  /** A valid WebAssembly module that does not have Stateroom's exports (or has an older interface's). */
  WASM_NOT_STATEROOM: 'SR_ERR_WASM_NOT_STATEROOM',
  /** `STATEROOM_API_VERSION`/`STATEROOM_API_PROTOCOL` do not read 1 and 0. */
  WASM_BAD_VERSION: 'SR_ERR_WASM_BAD_VERSION',
  /** The module imports something the host does not provide. */
  WASM_BAD_IMPORT: 'SR_ERR_WASM_BAD_IMPORT',
  /** A guest trapped (a panic, `unreachable`, out-of-bounds access…); its room's instance is gone. */
  WASM_TRAP: 'SR_ERR_WASM_TRAP',
  /** A guest called `proc_exit`; its room's instance is gone. */
  WASM_EXIT: 'SR_ERR_WASM_EXIT',
  /** A guest handed `stateroom_send` bytes that do not decode; its room's instance is gone. */
  WASM_BAD_OUTPUT: 'SR_ERR_WASM_BAD_OUTPUT',
  /** A guest call ran past the call timeout; its worker was terminated. */
  WASM_TIMEOUT: 'SR_ERR_WASM_TIMEOUT',
  /**
   * A room's instance was lost with the worker thread it shared: another room's guest ran away
   * on that thread, or the thread was stopped or crashed. The room did nothing wrong.
   */
  WASM_WORKER_LOST: 'SR_ERR_WASM_WORKER_LOST',
  /** A guest's memory grew past the memory limit; its room's instance is gone. */
  WASM_MEMORY: 'SR_ERR_WASM_MEMORY',
  /**
   * A module's instantiation (its start function) did not finish in time: at load the module
   * is refused; for a room, only that room fails.
   */
  WASM_START: 'SR_ERR_WASM_START',
  /** `stateroom build` failed (a compile error, a missing entry file…). */
  BUILD_FAILED: 'SR_ERR_BUILD_FAILED',
  /** `stateroom.toml` cannot be read or has a key of the wrong type. */
  CONFIG_INVALID: 'SR_ERR_CONFIG_INVALID',
  /** The state directory (`--state-dir`) cannot be created, read or written. */
  STATE_DIR: 'SR_ERR_STATE_DIR',
  /** A saved room image is torn, corrupt, of an unknown format version, or unreadable; it is skipped. */
  IMAGE_CORRUPT: 'SR_ERR_IMAGE_CORRUPT',
  /** A room could not be saved (the store refused the write, or the service's `snapshot()` threw); the room goes on and the save is retried. */
  SAVE_FAILED: 'SR_ERR_SAVE_FAILED',
  /** A saved room could not be restored (its `restore()` threw, or the guest trapped right after); the image is set aside and the room starts fresh. */
  RESTORE_FAILED: 'SR_ERR_RESTORE_FAILED',
  /** A service's rooms cannot be saved (a WASM module that changes its tables or drops segments at run time); it runs as without a state directory. */
  NOT_DURABLE: 'SR_ERR_NOT_DURABLE',
  /** Redis (`--redis`) cannot be reached, or refused a command; the message names the address. */
  REDIS_UNAVAILABLE: 'SR_ERR_REDIS_UNAVAILABLE',
  /** This node could no longer prove its lease on a room valid (renewals failed, or another node holds it): the room was stopped. */
  LEASE_LOST: 'SR_ERR_LEASE_LOST',
  /** A room image write was refused: its fencing token is older than the room's newest lease (another node owns the room now). */
  FENCED: 'SR_ERR_FENCED',
} as const;
/** One of the `SR_ERR_*` codes (docs/errors.md has a row for each). */
export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

/** Where an error happened. */
export interface ErrorContext {
  /** The room it happened in. */
  readonly roomId?: string;
  /** The client whose event it was. */
  readonly clientId?: number;
  /** The file concerned (a service module, a state directory's image). */
  readonly file?: string;
  /** The option that was refused. */
  readonly option?: string;
}

/** The one error class stateroom throws; `code` says which kind it is. */
export class StateroomError extends Error {
  override readonly name = 'StateroomError';
  /**
   * @param code - Which kind of error (docs/errors.md: what it means, what to do).
   * @param message - One line: what went wrong, where, and what to do.
   * @param context - The room, client, file or option it concerns.
   */
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly context: ErrorContext = {},
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}

/**
 * Errors after which a room's service instance cannot go on, each with the close reason its
 * clients get (code 1011). The room is dropped; the next connection gets a fresh instance.
 */
const FATAL_CLOSE_REASONS: Partial<Record<ErrorCode, string>> = {
  [ErrorCode.SERVICE_LOAD]: 'room service failed to start',
  [ErrorCode.WASM_TRAP]: 'room service crashed (WebAssembly trap)',
  [ErrorCode.WASM_EXIT]: 'room service exited (proc_exit)',
  [ErrorCode.WASM_BAD_OUTPUT]: 'room service sent bytes that do not decode',
  [ErrorCode.WASM_TIMEOUT]: 'room service timed out (call took too long)',
  [ErrorCode.WASM_MEMORY]: 'room service used too much memory',
  [ErrorCode.WASM_START]: 'room service did not start in time',
  [ErrorCode.WASM_WORKER_LOST]: 'room service lost with its worker thread',
  [ErrorCode.RESTORE_FAILED]: 'room could not be restored from its saved state',
};

/** The close reason for a fatal error, or `undefined` when the room can go on after `thrown`. */
export function fatalCloseReason(thrown: unknown): string | undefined {
  return thrown instanceof StateroomError ? FATAL_CLOSE_REASONS[thrown.code] : undefined;
}

/** A short description of anything thrown, for log lines and error messages. */
export function describeThrown(thrown: unknown): string {
  if (thrown instanceof Error) return `${thrown.name}: ${thrown.message}`;
  return String(thrown);
}

/** Whether `err` is the failure of an `import()` of package `name` that is not installed. */
export function isMissingPackage(err: unknown, name: string): boolean {
  const { code, message } = (err ?? {}) as { code?: unknown; message?: unknown };
  return (code === 'ERR_MODULE_NOT_FOUND' || code === 'MODULE_NOT_FOUND') && typeof message === 'string' && message.includes(`'${name}'`);
}
