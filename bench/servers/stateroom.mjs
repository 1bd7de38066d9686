// stateroom, native TS service, the way `stateroom serve bench/servers/broadcast.ts` runs it
// (the same loader, the same serve()), but quiet: the CLI prints its port only at info
// level, and logging every connection would bill pino's work to the server's CPU.
// `durable` (argv[2]) serves it with a fresh temporary state directory, as `--state-dir` does
// (removed at exit); `durable=<ms>` sets the snapshot interval too (default: serve()'s, 5 s).
// Prints {"port":N} once listening. Needs `npm run build`.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { serve } from '../../dist/index.js';
import { loadService } from '../../dist/project/load-service.js';

const durable = /^durable(?:=(\d+))?$/.exec(process.argv[2] ?? '');
if (process.argv[2] !== undefined && durable === null) {
  console.error(`Error: unknown argument '${process.argv[2]}' (durable or durable=<snapshot interval ms>)`);
  process.exit(2);
}
const stateDir = durable === null ? undefined : await mkdtemp(path.join(tmpdir(), 'stateroom-bench-state-'));
const { service } = await loadService(new URL('./broadcast.ts', import.meta.url).pathname);
const server = await serve(service, {
  port: 0,
  host: '127.0.0.1',
  logLevel: 'warn',
  ...(stateDir === undefined ? {} : { stateDir }),
  ...(durable?.[1] === undefined ? {} : { snapshotIntervalMs: Number(durable[1]) }),
});
// `parts`: the bench prints this process's kernel share of its CPU (run.ts, "by part").
console.log(JSON.stringify({ port: server.port, parts: { server: process.pid } }));
process.on('SIGTERM', () =>
  void server
    .close()
    .then(() => stateDir !== undefined && rm(stateDir, { recursive: true, force: true }))
    .then(() => process.exit(0)),
);
