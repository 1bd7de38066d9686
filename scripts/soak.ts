// Soak: bounded churn of connects, messages and disconnects across many rooms, on loopback
// only, against a real `stateroom serve` child process. Prints the server's RSS and open
// handles at the start, the peak and the end, and whether any room or client was left behind.
//
//   npm run soak -- --seconds 300 [--clients 200] [--rooms 50]
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { WebSocket } from 'ws';

const { values } = parseArgs({
  options: {
    seconds: { type: 'string', default: '60' },
    clients: { type: 'string', default: '200' },
    rooms: { type: 'string', default: '50' },
  },
});
const seconds = Math.min(Number(values.seconds), 3_600);
const concurrency = Math.min(Number(values.clients), 2_000);
const roomCount = Math.min(Number(values.rooms), 10_000);
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

interface Sample {
  rssMiB: number;
  heapMiB: number;
  handles: number;
  rooms: number;
  connections: number;
}

const server = spawn(
  process.execPath,
  ['--expose-gc', '--require', path.join(root, 'scripts/soak-gc.cjs'), path.join(root, 'dist/cli/main.js'), 'serve', path.join(root, 'examples/chat/service.ts'), '--port', '0', '--host', '127.0.0.1', '--room-idle-timeout', '1', '--resume-grace', '1'],
  { stdio: ['ignore', 'pipe', 'inherit'] },
);
// Whatever happens to this script, the server goes with it.
process.on('exit', () => server.kill('SIGKILL'));
const port = await new Promise<number>((resolve, reject) => {
  let text = '';
  // The server logs a line per room created and disposed: read them all, so the pipe never fills.
  server.stdout.on('data', (d: Buffer) => {
    if (text.length > 4096) return;
    text += d.toString();
    const found = /"port":(\d+)/.exec(text);
    if (found) resolve(Number(found[1]));
  });
  server.on('exit', (code) => reject(new Error(`server exited with ${code}`)));
  setTimeout(() => reject(new Error('server did not start in 15 s')), 15_000).unref();
});


async function sample(): Promise<Sample> {
  const rssKb = Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${server.pid}/status`, 'utf8'))?.[1] ?? 0);
  const status = (await (await fetch(`http://127.0.0.1:${port}/status?format=json`)).json()) as { rooms: number; connections: number };
  const metrics = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  const handles = Number(/^stateroom_nodejs_active_handles_total (\d+)/m.exec(metrics)?.[1] ?? NaN);
  const heap = Number(/^stateroom_nodejs_heap_size_used_bytes (\d+)/m.exec(metrics)?.[1] ?? NaN);
  return { rssMiB: rssKb / 1024, heapMiB: heap / 2 ** 20, handles, rooms: status.rooms, connections: status.connections };
}

/** One visitor: joins a random room, chats a little, leaves (now and then abruptly). */
async function visit(): Promise<void> {
  const room = `soak-${Math.floor(Math.random() * roomCount)}`;
  const token = Math.random() < 0.3 ? `&token=t${Math.floor(Math.random() * 1e9)}` : '';
  const ws = new WebSocket(`ws://127.0.0.1:${port}/ws/${room}?x=1${token}`);
  await new Promise<void>((resolve) => {
    const done = (): void => resolve();
    ws.on('error', done);
    ws.on('close', done);
    ws.on('open', () => {
      const messages = 1 + Math.floor(Math.random() * 10);
      for (let i = 0; i < messages; i++) ws.send(i === 0 ? `/nick v${Math.floor(Math.random() * 1e6)}` : `hello ${i}`);
      setTimeout(() => (Math.random() < 0.2 ? ws.terminate() : ws.close()), Math.random() * 200);
    });
  });
}

/** Asks the server for a full garbage collection, so samples show memory held, not garbage. */
async function collected(): Promise<Sample> {
  server.kill('SIGUSR2');
  await new Promise((r) => setTimeout(r, 500));
  return sample();
}

const start = await collected();
let peak = start;
let visits = 0;
const deadline = Date.now() + seconds * 1_000;
console.log(`soak: ${seconds} s, ${concurrency} concurrent clients over ${roomCount} rooms, server pid ${server.pid} on :${port}`);
console.log(`start: ${fmt(start)}`);
const progress = setInterval(() => {
  void sample().then((s) => {
    if (s.rssMiB > peak.rssMiB) peak = s;
    console.log(`  ${Math.round((deadline - Date.now()) / 1000)} s left, ${visits} visits: ${fmt(s)}`);
  });
}, 10_000);
await Promise.all(
  Array.from({ length: concurrency }, async () => {
    while (Date.now() < deadline) {
      await visit();
      visits += 1;
    }
  }),
);
clearInterval(progress);
const churned = await sample();
// Let seats, rooms and sockets time out (resume grace 1 s, room idle 1 s), then measure.
await new Promise((r) => setTimeout(r, 5_000));
const end = await collected();
console.log(`after churn: ${fmt(churned)}`);
console.log(`end (5 s later, after a full GC): ${fmt(end)}`);
console.log(`peak: ${fmt(peak)}`);
// The bar: RSS back within 10% of the start, nothing left behind. RSS also counts
// pages the allocator keeps mapped for reuse, so the JS heap after a full GC (what the
// server really still holds) is printed beside it.
const grew = (end.rssMiB - start.rssMiB) / start.rssMiB;
const clean = end.rooms === 0 && end.connections === 0 && end.handles <= start.handles;
const verdict = clean && grew <= 0.1 ? 'PASS' : 'CHECK';
console.log(`${verdict}: ${visits} visits; RSS ${start.rssMiB.toFixed(1)} → ${end.rssMiB.toFixed(1)} MiB (${(grew * 100).toFixed(1)}%), JS heap after GC ${start.heapMiB.toFixed(1)} → ${end.heapMiB.toFixed(1)} MiB, rooms left ${end.rooms}, clients left ${end.connections}, handles ${start.handles} → ${end.handles}`);
server.kill('SIGTERM');

function fmt(s: Sample): string {
  return `RSS ${s.rssMiB.toFixed(1)} MiB, JS heap used ${s.heapMiB.toFixed(1)} MiB, handles ${s.handles}, rooms ${s.rooms}, connections ${s.connections}`;
}
