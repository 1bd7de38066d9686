// What isolating WASM rooms on worker threads costs, against running them inline:
// time to the first answer in a new room, RSS per room, and one client's sequential round
// trip. Loopback only, 40 rooms, 2,000 round trips. Needs `npm run build` and the
// AssemblyScript counter built: `node dist/cli/main.js build examples/counter`.
//
//   node --expose-gc bench/isolation.mjs worker|inline
import { WebSocket } from 'ws';
import { serve } from '../dist/index.js';
import { loadWasmFile } from '../dist/wasm/abi/load.js';
import { wasmAdapterSource } from '../dist/wasm/source.js';

const mode = process.argv[2] === 'inline' ? 'inline' : 'worker';
const ROOMS = 40;
const ROUND_TRIPS = 2_000;
const module = await loadWasmFile(new URL('../examples/counter/dist/server.wasm', import.meta.url).pathname);
const server = await serve(wasmAdapterSource(module, { isolation: mode }), { port: 0, host: '127.0.0.1', logLevel: 'silent' });
const open = (room) =>
  new Promise((resolve, reject) => {
    const ws = new WebSocket(`ws://127.0.0.1:${server.port}/ws/${room}`);
    ws.once('open', () => resolve(ws));
    ws.once('error', reject);
  });
const roundTrip = async (ws) => {
  const started = performance.now();
  ws.send('increment');
  await new Promise((resolve) => ws.once('message', resolve));
  return performance.now() - started;
};

globalThis.gc?.();
const before = process.memoryUsage().rss;
const firsts = [];
const sockets = [];
for (let i = 0; i < ROOMS; i++) {
  const started = performance.now();
  const ws = await open(`room-${i}`);
  await roundTrip(ws);
  firsts.push(performance.now() - started);
  sockets.push(ws);
}
globalThis.gc?.();
const perRoomMiB = (process.memoryUsage().rss - before) / ROOMS / 2 ** 20;
const started = performance.now();
for (let i = 0; i < ROUND_TRIPS; i++) await roundTrip(sockets[0]);
const roundTripMs = (performance.now() - started) / ROUND_TRIPS;
firsts.sort((a, b) => a - b);
console.log(
  `${mode}: first answer in a new room p50 ${firsts[ROOMS / 2].toFixed(1)} ms; RSS per room ${perRoomMiB.toFixed(2)} MiB; sequential round trip ${roundTripMs.toFixed(3)} ms`,
);
sockets.forEach((ws) => ws.terminate());
await server.close();
