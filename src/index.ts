/**
 * stateroom: lightweight, single-threaded, room-based services over WebSockets.
 * This module is the public surface; it only re-exports.
 * @module
 */
export type { ClientId, ClientInfo, ClientUser, Context, JsonValue, MaybePromise, Payload, Recipient, Service, ServiceClass, ServiceFactory, ServiceSource } from './service/types.js';
export type { AdapterFactory, AdapterFailed, AdapterSource, ImageKind, ServiceAdapter, SourceDurability } from './service/adapter.js';
export type { RoomStore } from './room-store.js';
export { DirectoryStore } from './durability/dir-store.js';
export { serve, type RunningServer } from './serve.js';
export { DEFAULT_SERVER_OPTIONS, resolveServerOptions, type Admitted, type Authorize, type Refusal, type Requester, type ResolvedServerOptions, type ServerOptions } from './options.js';
export { ErrorCode, StateroomError, type ErrorContext } from './errors.js';
export { createLogger, LOG_LEVELS, type LogLevel, type Logger } from './logger.js';
export { DEFAULT_ROOM_ID, MAX_ROOM_ID_BYTES } from './transport/room-path.js';
export { loadWasmFile } from './wasm/abi/load.js';
export { compileStateroomModule, type CompileOptions, type StateroomModule } from './wasm/abi/module.js';
export { DEFAULT_WASM_HOST_OPTIONS, wasmAdapterSource, type WasmAdapterSource, type WasmHostOptions, type WasmIsolation } from './wasm/source.js';
export { CLOSE_GOING_AWAY, CLOSE_INTERNAL_ERROR, CLOSE_POLICY, CLOSE_REPLACED, CLOSE_SERVICE_RESTART, CLOSE_TOO_BIG, CLOSE_TRY_AGAIN_LATER } from './protocol.js';
