/**
 * The messages between a room (main thread) and the worker thread that runs its guest.
 * One event is in flight at a time: the worker answers each with `done` or `failed`, after
 * posting the sends and timer changes the guest made while handling it.
 * @module
 */
import type { ErrorCode } from '../errors.js';
import type { Payload, Recipient } from '../service/types.js';
import type { MessageToProcess } from './codec.js';

/** What the worker is started with. */
export interface WorkerSetup {
  readonly module: WebAssembly.Module;
  readonly name: string;
  readonly roomId: string;
  readonly memoryLimitBytes: number;
}

export type ToWorker = { readonly type: 'event'; readonly event: MessageToProcess };

export type FromWorker =
  | { readonly type: 'ready' }
  | { readonly type: 'send'; readonly recipient: Recipient; readonly payload: Payload }
  | { readonly type: 'setTimer'; readonly ms: number }
  | { readonly type: 'clearTimer' }
  | { readonly type: 'log'; readonly level: 'info' | 'warn'; readonly fields: object; readonly message: string }
  | { readonly type: 'done' }
  | { readonly type: 'failed'; readonly code: ErrorCode | undefined; readonly message: string };
