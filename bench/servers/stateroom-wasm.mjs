// stateroom, WASM service: the AssemblyScript broadcast guest, compiled at start (before the
// load begins, so the compile is not billed), served with pool, worker or inline isolation
// (argv[2], default pool; argv[3] sets the pool size, default one thread per core). Prints {"port":N}
// once listening. Needs `npm run build`.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { compileAssemblyScript } from '../../dist/project/assemblyscript.js';
import { serve } from '../../dist/index.js';
import { loadWasmFile } from '../../dist/wasm/abi/load.js';
import { wasmAdapterSource } from '../../dist/wasm/source.js';

// The isolations this build of stateroom has. Anything else is refused rather than served
// as another, which would measure the wrong thing under its name.
const ISOLATIONS = ['pool', 'worker', 'inline'];
const isolation = process.argv[2] ?? 'pool';
const poolSize = process.argv[3] === undefined ? undefined : Number(process.argv[3]);
if (!ISOLATIONS.includes(isolation)) {
  console.error(`Error: unknown isolation '${isolation}' (this build knows ${ISOLATIONS.join(', ')})`);
  process.exit(2);
}
const dir = await mkdtemp(path.join(tmpdir(), 'stateroom-bench-'));
const wasm = path.join(dir, 'broadcast.wasm');
const compiled = await compileAssemblyScript(new URL('./assembly/broadcast.ts', import.meta.url).pathname, wasm);
if (!compiled.ok) throw new Error(`the benchmark guest did not compile:\n${compiled.diagnostics}`);
const module = await loadWasmFile(wasm);
await rm(dir, { recursive: true, force: true });
const source = wasmAdapterSource(module, { isolation, ...(poolSize === undefined ? {} : { poolSize }) });
const server = await serve(source, { port: 0, host: '127.0.0.1', logLevel: 'warn' });
console.log(JSON.stringify({ port: server.port }));
process.on('SIGTERM', () => void server.close().then(() => source.close()).then(() => process.exit(0)));
