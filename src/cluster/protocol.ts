/**
 * The IPC messages between the primary and its workers (JSON over the fork channel).
 * @module
 */
import type { ErrorCode } from '../errors.js';
import type { WorkerReport } from '../serve.js';

/** Primary → worker. A `connection` message carries the socket handle beside it. */
export type ToWorker =
  /** Serve this socket; `head` (base64) is what the primary already read from it. */
  | { readonly type: 'connection'; readonly head: string }
  /** Close every client with 1001, dispose every room, exit. */
  | { readonly type: 'shutdown' }
  /**
   * Send your status (for `/status?format=json`), and your metrics too when `what` is
   * `metrics` (for `/metrics`): a status alone costs a worker no metrics rendering.
   */
  | { readonly type: 'report'; readonly id: number; readonly what: ReportKind };

/** What a report is for. */
export type ReportKind = 'status' | 'metrics';

/** Worker → primary. */
export type FromWorker =
  | { readonly type: 'ready' }
  /** It cannot start (its service does not load): the error, said once by the primary for every worker. */
  | { readonly type: 'failed'; readonly code: ErrorCode; readonly message: string }
  | { readonly type: 'report'; readonly id: number; readonly report: WorkerReport };
