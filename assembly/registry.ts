import { Service } from "./service";

// The factory the author's entry file registered. A module-level variable is the only
// way for the SDK's exported functions to reach a class defined in the author's file:
// AssemblyScript has no reflection, and only entry files contribute exports.
let factory: (() => Service) | null = null;

/**
 * Makes `create` the service of this module: the SDK calls it once, when the room
 * receives its first event, and routes every event to the service it returns. Call it
 * exactly once, at the top level of your entry file:
 *
 * @example
 * register(() => new SharedCounter());
 */
export function register(create: () => Service): void {
  if (factory !== null) throw new Error("stateroom: register() was called twice");
  factory = create;
}

/** Creates the registered service; traps with a hint if nothing was registered. */
export function createService(): Service {
  const create = factory;
  if (create === null) {
    throw new Error("stateroom: no service registered; call register(() => new YourService()) in your entry file");
  }
  return create();
}
