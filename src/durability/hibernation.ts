/**
 * Hibernation with clients: a room whose clients stay connected but that has had no event
 * for a while frees its service instance (a WebAssembly instance holds at least its linear
 * memory — a Rust guest ≥ 1 MiB — and ~10 GiB of address space); its image is kept in memory,
 * compressed, and the next call restores it first. The room, its seats and its sockets never
 * notice: this is an adapter around the real one.
 * @module
 */
import { promisify } from 'node:util';
import { deflateRaw, inflateRaw } from 'node:zlib';
import { ErrorCode, StateroomError, describeThrown } from '../errors.js';
import type { AdapterFactory, ServiceAdapter } from '../service/adapter.js';
import type { ClientId, MaybePromise, Payload } from '../service/types.js';

const deflateRawAsync = promisify(deflateRaw);
/** zlib's fastest level, as saved images use: most of the gain for a fraction of the CPU. */
const deflate = (body: Uint8Array): Promise<Buffer> => deflateRawAsync(body, { level: 1 });
const inflate = promisify(inflateRaw);

/** How many rooms sleep now, and the bytes their images hold. */
export class Sleepers {
  count = 0;
  bytes = 0;
}

/**
 * `factory`, with each adapter that can be saved and restored freeing its instance after
 * `afterMs` without a call. Adapters that cannot are returned as they are.
 */
export function hibernating(factory: AdapterFactory, afterMs: number, sleepers: Sleepers): AdapterFactory {
  return async (roomId, ctx, log, failed) => {
    const make = (): MaybePromise<ServiceAdapter> => factory(roomId, ctx, log, failed);
    const inner = await make();
    if (inner.snapshot === undefined || inner.restore === undefined) return inner;
    return new HibernatingAdapter(roomId, inner, make, afterMs, sleepers);
  };
}

class HibernatingAdapter implements ServiceAdapter {
  /** The image while asleep (compressed); the instance is gone then. */
  private image: Buffer | undefined;
  /**
   * The idle clock: armed once and re-armed when it finds the room was busy since, so that a
   * call costs a clock read, not a timer cancelled and made anew (the room's hottest path).
   */
  private idle: NodeJS.Timeout | undefined;
  /** When the last call ended (`performance.now()`). */
  private lastCall = 0;
  /** Calls and snapshots under way: no sleep while one runs. */
  private busy = 0;
  /** Going to sleep: a call that comes meanwhile waits for it, then wakes the room. */
  private sleeping: Promise<void> | undefined;
  private disposed = false;
  /** The instance is gone for good (a wake failed): nothing is left to dispose. */
  private lost = false;
  readonly messages?: ServiceAdapter['messages'];

  constructor(
    private readonly roomId: string,
    /** The live instance; `undefined` while asleep, so nothing keeps the freed one reachable. */
    private inner: ServiceAdapter | undefined,
    private readonly make: () => MaybePromise<ServiceAdapter>,
    private readonly afterMs: number,
    private readonly sleepers: Sleepers,
  ) {
    if (inner?.messages !== undefined) this.messages = (batch) => this.call((a) => a.messages?.(batch));
  }

  /** Whether the instance is freed right now. */
  get asleep(): boolean {
    return this.image !== undefined || this.sleeping !== undefined;
  }

  init(): MaybePromise<void> {
    return this.call((a) => a.init());
  }

  connect(client: ClientId): MaybePromise<void> {
    return this.call((a) => a.connect(client));
  }

  disconnect(client: ClientId): MaybePromise<void> {
    return this.call((a) => a.disconnect(client));
  }

  message(client: ClientId, payload: Payload): MaybePromise<void> {
    return this.call((a) => a.message(client, payload));
  }

  timer(): MaybePromise<void> {
    return this.call((a) => a.timer());
  }

  restore(image: Uint8Array): MaybePromise<void> {
    return this.call((a) => a.restore?.(image));
  }

  /** A sleeping room's image is its snapshot: saving it does not wake it (nor count as an event). */
  async snapshot(): Promise<Uint8Array | undefined> {
    this.busy += 1;
    try {
      await this.sleeping;
      if (this.image !== undefined) return await inflate(this.image);
      return await this.inner?.snapshot?.();
    } finally {
      this.done(false);
    }
  }

  async dispose(): Promise<void> {
    this.disposed = true;
    this.stopIdle();
    await this.sleeping;
    if (this.image !== undefined) {
      this.forgetImage();
      return;
    }
    if (!this.lost) await this.inner?.dispose?.();
  }

  /** Runs one call on the live instance, waking it first if it sleeps; the room is idle from its end. */
  private call(run: (adapter: ServiceAdapter) => MaybePromise<void>): MaybePromise<void> {
    this.busy += 1;
    const { inner } = this;
    let result: MaybePromise<void>;
    try {
      result = this.sleeping === undefined && inner !== undefined ? run(inner) : this.wake().then(() => run(this.awake()));
    } catch (err) {
      this.done(true);
      throw err;
    }
    if (!(result instanceof Promise)) {
      this.done(true);
      return result;
    }
    return result.finally(() => this.done(true));
  }

  /**
   * A call (`event`) or a snapshot ended. After a call the room has been idle since now; the
   * clock, if it rang meanwhile, is armed again (for what is left of the idle time).
   */
  private done(event: boolean): void {
    this.busy -= 1;
    if (event) this.lastCall = performance.now();
    if (this.idle === undefined && !this.asleep) this.armIdle(Math.max(0, this.afterMs - (performance.now() - this.lastCall)));
  }

  private async wake(): Promise<void> {
    await this.sleeping;
    const image = this.image;
    if (image === undefined) return;
    let adapter: ServiceAdapter | undefined;
    try {
      adapter = await this.make();
      await adapter.restore?.(await inflate(image));
      this.inner = adapter;
    } catch (err) {
      // The old instance was disposed when the room fell asleep, and the new one is let go here.
      this.lost = true;
      void Promise.resolve(adapter?.dispose?.()).catch(() => {});
      // Only a restore that failed says something about the image (the room then sets it
      // aside); an instance that could not be made (a start timeout, a lost thread) fails as
      // itself.
      if (adapter === undefined) throw err;
      throw new StateroomError(ErrorCode.RESTORE_FAILED, `room "${this.roomId}" could not wake from hibernation: ${describeThrown(err)}`, { roomId: this.roomId }, { cause: err });
    } finally {
      this.forgetImage();
    }
  }

  /** The live instance after a wake (which throws when it could not wake). */
  private awake(): ServiceAdapter {
    if (this.inner === undefined) throw new StateroomError(ErrorCode.RESTORE_FAILED, `room "${this.roomId}" has no instance: it could not wake from hibernation`, { roomId: this.roomId });
    return this.inner;
  }

  private armIdle(ms: number): void {
    if (this.disposed || this.afterMs <= 0) return;
    this.idle = setTimeout(() => this.idleCheck(), ms);
    this.idle.unref();
  }

  /** The clock rang: sleep if nothing ran for the whole while, else wait for the rest of it. */
  private idleCheck(): void {
    this.idle = undefined;
    if (this.busy > 0 || this.asleep) return; // the call under way arms the clock again when it ends
    const quiet = performance.now() - this.lastCall;
    if (quiet < this.afterMs) {
      this.armIdle(this.afterMs - quiet);
      return;
    }
    this.sleeping = this.sleep().finally(() => (this.sleeping = undefined));
  }

  private stopIdle(): void {
    if (this.idle !== undefined) clearTimeout(this.idle);
    this.idle = undefined;
  }

  /** Saves the instance's image in memory and frees the instance; if it cannot be saved, the room stays awake. */
  private async sleep(): Promise<void> {
    let body: Uint8Array | undefined;
    try {
      body = await this.inner?.snapshot?.();
    } catch {
      return; // a failing snapshot is the periodic save's to report; the room just stays awake
    }
    if (body === undefined || this.disposed) return;
    let image: Buffer;
    try {
      image = await deflate(body);
    } catch {
      return; // stays awake
    }
    const inner = this.inner;
    this.inner = undefined;
    this.image = image;
    await Promise.resolve(inner?.dispose?.()).catch(() => {});
    this.sleepers.count += 1;
    this.sleepers.bytes += image.byteLength;
  }

  private forgetImage(): void {
    if (this.image === undefined) return;
    this.sleepers.count -= 1;
    this.sleepers.bytes -= this.image.byteLength;
    this.image = undefined;
  }
}
