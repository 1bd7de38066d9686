/**
 * The native adapter: runs a TypeScript/JavaScript service object in this process.
 * @module
 */
import type { ServiceAdapter } from './adapter.js';
import type { Context, MaybePromise, Payload, Service, ServiceClass, ServiceSource } from './types.js';

const CALLBACKS = ['init', 'connect', 'disconnect', 'message', 'timer', 'snapshot', 'restore', 'dispose'] as const;

/**
 * Tells a service class from a factory function. Both are functions; a class either
 * says so in its source (`class …`) or, for pre-ES2015 constructors, carries at least one
 * service callback on its prototype.
 */
export function isServiceClass(source: ServiceSource): source is ServiceClass {
  if (/^class[\s{]/.test(Function.prototype.toString.call(source))) return true;
  const proto: unknown = (source as { prototype?: unknown }).prototype;
  if (typeof proto !== 'object' || proto === null) return false;
  return CALLBACKS.some((name) => typeof (proto as Record<string, unknown>)[name] === 'function');
}

/** Why `value` is not a service object, or `undefined` when it is one. */
export function whyNotAService(value: unknown): string | undefined {
  if (typeof value !== 'object' || value === null) {
    return `it returned ${value === null ? 'null' : typeof value}, not an object`;
  }
  for (const name of CALLBACKS) {
    const member = (value as Record<string, unknown>)[name];
    if (member !== undefined && typeof member !== 'function') {
      return `its "${name}" is a ${typeof member}, not a function`;
    }
  }
  return undefined;
}

/** The adapter around one service object; missing callbacks do nothing. */
export function adaptService(service: Service, ctx: Context): ServiceAdapter {
  const adapter: ServiceAdapter = {
    init: () => service.init?.(ctx),
    connect: (client) => service.connect?.(client, ctx),
    disconnect: (client) => service.disconnect?.(client, ctx),
    message: (client, payload) => service.message?.(client, payload, ctx),
    timer: () => service.timer?.(ctx),
  };
  // Only a service with the hooks is saved and restored; without them a room starts fresh.
  if (typeof service.snapshot === 'function') adapter.snapshot = () => snapshotOf(service, ctx);
  if (typeof service.restore === 'function') adapter.restore = (image) => service.restore?.(decodeSaved(image), ctx);
  if (typeof service.dispose === 'function') adapter.beforeDispose = () => service.dispose?.(ctx);
  return adapter;
}

/**
 * Whether a service class's prototype declares both durability hooks: false may still mean
 * hooks written as class fields (the instances'); a factory's services are known only per room.
 */
export function hasDurabilityHooks(source: ServiceSource): boolean | undefined {
  if (!isServiceClass(source)) return undefined;
  const proto = source.prototype as Partial<Record<string, unknown>>;
  return typeof proto.snapshot === 'function' && typeof proto.restore === 'function';
}

/** A saved payload keeps its kind: a first byte says text (0) or bytes (1). */
const TEXT = 0;
const BYTES = 1;

function snapshotOf(service: Service, ctx: Context): MaybePromise<Uint8Array> {
  // A hook that returns nothing is a bug of the service: encodeSaved says so.
  const data = service.snapshot?.(ctx) as MaybePromise<Payload>;
  return data instanceof Promise ? data.then(encodeSaved) : encodeSaved(data);
}

function encodeSaved(data: Payload): Uint8Array {
  if (typeof data === 'string') {
    const text = Buffer.from(data, 'utf8');
    const out = new Uint8Array(text.byteLength + 1);
    out[0] = TEXT;
    out.set(text, 1);
    return out;
  }
  if (!((data as unknown) instanceof Uint8Array)) throw new TypeError(`snapshot() must return a string or a Uint8Array, not ${data === null ? 'null' : typeof data}`);
  const out = new Uint8Array(data.byteLength + 1);
  out[0] = BYTES;
  out.set(data, 1);
  return out;
}

function decodeSaved(image: Uint8Array): Payload {
  const kind = image[0];
  const rest = image.subarray(1);
  if (kind === TEXT) return Buffer.from(rest.buffer, rest.byteOffset, rest.byteLength).toString('utf8');
  if (kind === BYTES) return Uint8Array.from(rest);
  throw new TypeError(`the saved state does not come from a native service's snapshot() (first byte ${String(kind)})`);
}

/** An `AdapterFactory` that constructs (or calls) `source` once per room. */
export function nativeAdapterFactory(source: ServiceSource): (roomId: string, ctx: Context) => MaybePromise<ServiceAdapter> {
  const make = isServiceClass(source)
    ? (roomId: string, ctx: Context) => new source(roomId, ctx)
    : (roomId: string, ctx: Context) => source(roomId, ctx);
  return (roomId, ctx) => {
    const made = make(roomId, ctx);
    return made instanceof Promise ? made.then((s) => checked(s, ctx)) : checked(made, ctx);
  };
}

function checked(service: Service, ctx: Context): ServiceAdapter {
  const why = whyNotAService(service);
  if (why !== undefined) throw new TypeError(`the service factory gave no service: ${why}`);
  return adaptService(service, ctx);
}
