// stateroom serving a WASM module (argv[2]: a .wasm or .wat file) with durable rooms in a
// fresh temporary state directory (removed at exit) and hibernation with clients after
// argv[4] ms without an event (0: never); argv[3] is the isolation (pool or inline; the pool
// has argv[5] threads, default one per core). For bench/hibernation.ts. Prints {"port":N}
// once listening. Needs `npm run build`.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { serve } from '../../dist/index.js';
import { loadWasmFile } from '../../dist/wasm/abi/load.js';
import { wasmAdapterSource } from '../../dist/wasm/source.js';

const [file, isolation = 'pool', hibernateAfter = '1000', poolSize] = process.argv.slice(2);
if (file === undefined || !['pool', 'inline'].includes(isolation) || !/^\d+$/.test(hibernateAfter)) {
  console.error('Error: usage: stateroom-hibernate.mjs <module.wasm|.wat> [pool|inline] [hibernate after ms] [pool size]');
  process.exit(2);
}
const module = await loadWasmFile(file);
const source = wasmAdapterSource(module, { isolation, ...(poolSize === undefined ? {} : { poolSize: Number(poolSize) }) });
const stateDir = await mkdtemp(path.join(tmpdir(), 'stateroom-bench-state-'));
const server = await serve(source, { port: 0, host: '127.0.0.1', logLevel: 'warn', stateDir, hibernateAfterMs: Number(hibernateAfter) });
console.log(JSON.stringify({ port: server.port }));
process.on('SIGTERM', () =>
  void server
    .close()
    .then(() => source.close())
    .then(() => rm(stateDir, { recursive: true, force: true }))
    .then(() => process.exit(0)),
);
