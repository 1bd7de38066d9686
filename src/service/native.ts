/**
 * The native adapter: runs a TypeScript/JavaScript service object in this process.
 * @module
 */
import type { ServiceAdapter } from './adapter.js';
import type { Context, MaybePromise, Service, ServiceClass, ServiceSource } from './types.js';

const CALLBACKS = ['init', 'connect', 'disconnect', 'message', 'timer'] as const;

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
  return {
    init: () => service.init?.(ctx),
    connect: (client) => service.connect?.(client, ctx),
    disconnect: (client) => service.disconnect?.(client, ctx),
    message: (client, payload) => service.message?.(client, payload, ctx),
    timer: () => service.timer?.(ctx),
  };
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
