// stateroom, WASM service: the AssemblyScript broadcast guest, compiled at start (before the
// load begins, so the compile is not billed), served with pool, worker or inline isolation
// (argv[2], default pool; argv[3] sets the pool size, default one thread per core). A `durable`
// argument (anywhere) serves it with a fresh temporary state directory, as `--state-dir` does
// (removed at exit); `durable=<ms>` sets the snapshot interval too (default: serve()'s, 5 s).
// Prints {"port":N} once listening. Needs `npm run build`.
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
const durableArg = process.argv.slice(2).find((arg) => arg.startsWith('durable'));
const durable = durableArg === undefined ? null : /^durable(?:=(\d+))?$/.exec(durableArg);
if (durableArg !== undefined && durable === null) {
  console.error(`Error: unknown argument '${durableArg}' (durable or durable=<snapshot interval ms>)`);
  process.exit(2);
}
const positional = process.argv.slice(2).filter((arg) => arg !== durableArg);
const isolation = positional[0] ?? 'pool';
const poolSize = positional[1] === undefined ? undefined : Number(positional[1]);
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
const stateDir = durable === null ? undefined : await mkdtemp(path.join(tmpdir(), 'stateroom-bench-state-'));
const server = await serve(source, {
  port: 0,
  host: '127.0.0.1',
  logLevel: 'warn',
  ...(stateDir === undefined ? {} : { stateDir }),
  ...(durable?.[1] === undefined ? {} : { snapshotIntervalMs: Number(durable[1]) }),
});
console.log(JSON.stringify({ port: server.port }));
process.on('SIGTERM', () =>
  void server
    .close()
    .then(() => source.close())
    .then(() => stateDir !== undefined && rm(stateDir, { recursive: true, force: true }))
    .then(() => process.exit(0)),
);
