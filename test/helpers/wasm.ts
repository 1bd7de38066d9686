// A server for one hand-written WASM fixture (test/fixtures/wasm/<name>.wat), stopped with the test.
import type { TestContext } from 'node:test';
import { serve, type ServerOptions } from '../../src/index.js';
import { loadWasmFile } from '../../src/wasm/abi/load.js';
import { wasmAdapterSource, type WasmHostOptions } from '../../src/wasm/source.js';
import { MemoryLogger } from './logs.js';
import { client, type Inbox } from './sockets.js';

export const fixture = (name: string): string => `test/fixtures/wasm/${name}.wat`;

/** Serves fixture `guest` on a free port; `join(room)` connects a client that is closed with the test. */
export async function startWasm(t: TestContext, guest: string, host: WasmHostOptions, options: ServerOptions = {}) {
  const logger = new MemoryLogger();
  const module = await loadWasmFile(fixture(guest));
  const source = wasmAdapterSource(module, host);
  t.after(() => source.close());
  const server = await serve(source, { port: 0, host: '127.0.0.1', logger, ...options });
  t.after(() => server.close());
  const url = (room: string): string => `ws://127.0.0.1:${server.port}/ws/${room}`;
  const join = async (room: string, name = room): Promise<Inbox> => {
    const inbox = await client(url(room), name);
    t.after(() => inbox.ws.terminate());
    return inbox;
  };
  return { logger, join, url, server, module, close: () => source.close() };
}
