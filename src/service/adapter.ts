/**
 * The seam between a room and the service it runs. Native TypeScript services, WASM
 * instances and (later) remote services all meet this interface, so the room loop never
 * asks which kind it runs.
 * @module
 */
import type { StateroomError } from '../errors.js';
import type { Logger } from '../logger.js';
import type { ClientId, Context, MaybePromise, Payload } from './types.js';

/** One room's service, as the room drives it. Every call is made one at a time, in order. */
export interface ServiceAdapter {
  /** The room starts (not called when it starts from a saved image: see {@link restore}). */
  init(): MaybePromise<void>;
  /** `client` joined the room; from now on it receives what the service sends. */
  connect(client: ClientId): MaybePromise<void>;
  /** `client` left (or its held seat was given up); nothing more is sent to it. */
  disconnect(client: ClientId): MaybePromise<void>;
  /** A message from `client`: text as a string, binary as bytes. */
  message(client: ClientId, payload: Payload): MaybePromise<void>;
  /** The room's timer (set with `setTimer`) came due. */
  timer(): MaybePromise<void>;
  /**
   * Optional: client messages queued one behind the other, as one call — for adapters whose
   * every call crosses a thread (WASM rooms on worker threads), so a busy room's messages
   * cross together. The same as calling `message` for each in turn, awaiting each; if one
   * fails, the rest are not delivered and the call throws (or rejects with) that failure.
   */
  messages?(batch: ReadonlyArray<{ readonly client: ClientId; readonly payload: Payload }>): MaybePromise<void>;
  /**
   * Optional: the service's state, captured now, as bytes the same kind of adapter (of the
   * same module) can {@link restore}; `undefined` when this service keeps nothing to save (a
   * native service without a `snapshot()` hook). Called only between events, never while a
   * call runs. The bytes are the caller's: the adapter must not change them afterwards.
   */
  snapshot?(): MaybePromise<Uint8Array | undefined>;
  /**
   * Optional: start from `image` (what {@link snapshot} gave, maybe in another process)
   * instead of `init()`. Called at most once, on a fresh adapter, before any other call.
   * Throws (or rejects) when the image cannot be restored; the room then fails closed.
   */
  restore?(image: Uint8Array): MaybePromise<void>;
  /**
   * Optional: the service's own `dispose` hook — the room is going away, after its last
   * `disconnect`. Not called for a room that failed, nor for one stopped at once (its lease
   * lost), where only {@link dispose} runs.
   */
  beforeDispose?(): MaybePromise<void>;
  /** Releases what the adapter holds (a WASM instance, a worker); called once, last. */
  dispose?(): MaybePromise<void>;
  /**
   * Optional: whether the service's instance is freed right now (hibernating with its clients);
   * a room being let go then saves it as it sleeps rather than waking it for its clients'
   * `disconnect`s (a restore delivers them).
   */
  readonly asleep?: boolean;
}

/** What kind of adapter made an image: an image is restored only by its own kind. */
export type ImageKind = 'wasm' | 'native';

/** Whether, and how, the rooms of a source can be saved and restored. */
export interface SourceDurability {
  /** Which kind of adapter makes the images; only that kind restores them. */
  readonly kind: ImageKind;
  /**
   * What an image must match to be restored here: a WASM module's content hash (sha256, hex,
   * of the module's bytes as loaded); `''` for native services, whose `restore()` decides.
   */
  readonly moduleHash: string;
  /**
   * Why rooms of this source cannot be saved faithfully (e.g. the instruction that changes a
   * table at run time), or `undefined` when they can. With a reason, the server warns once at
   * start-up and runs the source as without a state directory.
   */
  readonly refusal?: string | undefined;
}

/**
 * Tells a room that its service cannot go on although no call of the room failed — a WASM
 * room's worker thread died while the room was idle, say. The room fails as for a failed
 * call: its clients are closed with 1011 (the error's close reason) and it runs nothing more.
 */
export type AdapterFailed = (error: StateroomError) => void;

/**
 * Makes one room's adapter; `ctx` is how the service talks back to that room, `log` is the
 * server's logger (a WASM guest's printed output goes there, tagged with the room), and
 * `failed` is how the adapter reports a failure between calls.
 */
export type AdapterFactory = (roomId: string, ctx: Context, log: Logger, failed: AdapterFailed) => MaybePromise<ServiceAdapter>;

/**
 * A service reached through an adapter rather than as a native class: what the WASM host
 * (and later other hosts) hand to `serve()`.
 */
export interface AdapterSource {
  /** Shown in logs: the file or module the service came from. */
  readonly name: string;
  readonly createAdapter: AdapterFactory;
  /**
   * Optional: why a new room cannot start now (the source's budget of instances or memory is
   * spent), or `undefined` when it can. Asked at admission, before a client's upgrade, for a
   * room that does not exist yet: a reason refuses the upgrade with HTTP 503 and is its body,
   * so the rooms already running are never the ones to pay. `reserved`: instances not running
   * now but owed a place (rooms hibernating with their clients, which wake on their next event).
   */
  newRoomRefusal?(reserved?: number): string | undefined;
  /** Releases what the source holds for all its rooms (a WASM thread pool); called after every room is disposed. */
  close?(): Promise<void>;
  /**
   * Optional: whether its rooms' adapters implement `snapshot`/`restore`, and what their
   * images must match. A source without it is never saved.
   */
  readonly durability?: SourceDurability;
}
