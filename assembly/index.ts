// The Stateroom SDK for AssemblyScript: write a room service, register it, build it with
// `stateroom build` (or see README.md for plain asc).
export { ClientId } from "./client-id";
export { Context } from "./context";
export { Payload } from "./payload";
export { Recipient } from "./recipient";
export { register } from "./registry";
export { Service } from "./service";
