// CPU per save of a WASM room (issue 13's durable-rooms bar): saves of the benchmark's guest
// (bench/servers/assembly/broadcast.ts, 200 messages in) and of the Rust guest
// (test/fixtures/rust/guest.wasm, 100 increments) into a directory store, four at a time as the
// keeper runs them, each as the keeper does it from a fresh capture of the guest: the room's
// state and the capture to DirectoryStore.putRoom, which joins them on the writer thread (in a
// build without it: the joined body to putImage; without that, encodeImage + put). Prints the process's
// CPU per save, the server thread's part (from /proc/self/task/<pid>/stat, 10 ms ticks: hence
// thousands of saves), the other threads' part, and the wall time per save. The directory is on
// the machine's temporary disk, like the bench servers' state.
//
//   npm run build && node bench/save-cpu.mjs [saves] [dist]
//
// `dist` (default ./dist) is the build whose store is measured: give another checkout's
// dist/ to measure older code in the same way (the guests always run on ./dist).
import { mkdtemp, rm } from 'node:fs/promises';
import { readFileSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const SAVES = Number(process.argv[2] ?? 2000);
const DIST = path.resolve(process.argv[3] ?? path.join(ROOT, 'dist'));
const IN_FLIGHT = 4; // the keeper's MAX_CONCURRENT_SAVES
const WARM_UP = 100;

const from = (root, file) => import(pathToFileURL(path.join(root, file)).href);
const { DirectoryStore } = await from(DIST, 'durability/dir-store.js');
const { encodeImage, savedRoomDigest } = await from(DIST, 'durability/image.js');
const { encodeSavedRoom } = await from(DIST, 'durability/saved-room.js');
const { compileAssemblyScript } = await from(path.join(ROOT, 'dist'), 'project/assemblyscript.js');
const { loadWasmFile } = await from(path.join(ROOT, 'dist'), 'wasm/abi/load.js');
const { wasmAdapterSource } = await from(path.join(ROOT, 'dist'), 'wasm/source.js');

const quiet = { info() {}, warn() {}, error() {}, debug() {}, trace() {}, fatal() {}, child() { return quiet; } };

/** A live inline room of `wasmFile` after `messages`, snapshotted: the bytes a save starts from. */
async function imageOf(wasmFile, messages) {
  const source = wasmAdapterSource(await loadWasmFile(wasmFile), { isolation: 'inline' });
  const ctx = { roomId: 'r', sendMessage() {}, setTimer() {}, clearTimer() {}, close() {}, clientInfo: () => undefined };
  const adapter = await source.createAdapter('r', ctx, quiet, () => {});
  await adapter.init();
  for (const message of messages) await adapter.message(1, message);
  const body = await adapter.snapshot();
  await source.close();
  return body;
}

/** CPU ticks of each thread of this process, by thread id. */
function threadTicks() {
  const ticks = new Map();
  for (const tid of readdirSync('/proc/self/task')) {
    try {
      const stat = readFileSync(`/proc/self/task/${tid}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(') ') + 2).split(' ');
      ticks.set(tid, Number(fields[11]) + Number(fields[12]));
    } catch {
      // the thread ended meanwhile
    }
  }
  return ticks;
}

async function measure(name, body, store) {
  const saveOne = async (i) => {
    // A fresh capture for each save, as a room's snapshot is (and putRoom hands its buffer to
    // the writer thread): one copy of the guest's memory, as the capture itself makes.
    const state = { body: body.slice(), timerDueAt: undefined, lastClientId: 4, clients: [1, 2, 3, 4] };
    const header = { roomId: `${name} ${i % 400}`, kind: 'wasm', moduleHash: 'bench', savedAt: Date.now(), timerDueAt: undefined };
    if (typeof store.putRoom === 'function') return store.putRoom(header, state);
    const image = { ...header, body: encodeSavedRoom(state) };
    if (typeof store.putImage === 'function') return store.putImage(image, undefined, true);
    const bytes = await encodeImage(image);
    savedRoomDigest(bytes);
    return store.put(image.roomId, bytes);
  };
  const run = async (n) => {
    let next = 0;
    await Promise.all(Array.from({ length: IN_FLIGHT }, async () => {
      for (let i = next++; i < n; i = next++) await saveOne(i);
    }));
  };
  await run(WARM_UP);
  const before = threadTicks();
  const cpu = process.cpuUsage();
  const started = performance.now();
  await run(SAVES);
  const wall = performance.now() - started;
  const used = process.cpuUsage(cpu);
  const after = threadTicks();
  const main = (after.get(String(process.pid)) ?? 0) - (before.get(String(process.pid)) ?? 0);
  const total = (used.user + used.system) / 1000;
  return { name, bodyBytes: body.byteLength, cpuMs: total / SAVES, mainMs: (main * 10) / SAVES, otherMs: (total - main * 10) / SAVES, wallMs: wall / SAVES };
}

const dir = await mkdtemp(path.join(tmpdir(), 'stateroom-save-cpu-'));
try {
  const broadcast = path.join(dir, 'broadcast.wasm');
  const compiled = await compileAssemblyScript(path.join(ROOT, 'bench/servers/assembly/broadcast.ts'), broadcast);
  if (!compiled.ok) throw new Error(`the benchmark guest did not compile:\n${compiled.diagnostics}`);
  const cases = [
    ['broadcast guest (AssemblyScript)', await imageOf(broadcast, Array.from({ length: 200 }, (_, i) => `hello ${i} `.repeat(10)))],
    ['Rust guest counter', await imageOf(path.join(ROOT, 'test/fixtures/rust/guest.wasm'), Array.from({ length: 100 }, () => 'increment'))],
  ];
  const store = await DirectoryStore.open(path.join(dir, 'state'));
  console.log(`${SAVES} saves per room kind, ${IN_FLIGHT} at a time; store from ${path.relative(process.cwd(), DIST) || '.'}; Node ${process.version}`);
  console.log('| room | raw | CPU ms/save | server thread | other threads | wall ms/save |');
  console.log('|---|---:|---:|---:|---:|---:|');
  for (const [name, body] of cases) {
    const r = await measure(name, body, store);
    console.log(`| ${r.name} | ${(r.bodyBytes / 1024).toFixed(1)} KiB | ${r.cpuMs.toFixed(3)} | ${r.mainMs.toFixed(3)} | ${r.otherMs.toFixed(3)} | ${r.wallMs.toFixed(3)} |`);
  }
  await store.close?.();
} finally {
  await rm(dir, { recursive: true, force: true });
}
