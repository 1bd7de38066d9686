// Soak: bounded churn of connects, messages and disconnects across many rooms, on loopback
// only, against a real `stateroom serve` child process (and, with --workers, every process of
// its tree). Prints each process's RSS and JS heap at the start, the peak and the end, and
// whether any room or client was left behind.
//
//   npm run soak -- --seconds 300 [--clients 200] [--rooms 50] [--workers 1]
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { WebSocket } from 'ws';

const USAGE = `usage: npm run soak -- [--seconds 60] [--clients 200] [--rooms 50] [--workers 1]

  --seconds <n>   how long to churn (at most 3600)
  --clients <n>   concurrent visitors (at most 2000)
  --rooms <n>     rooms they spread over (at most 10000)
  --workers <n>   server processes (stateroom serve --workers); every process is measured
  --help          this text`;

function options(): { seconds: number; concurrency: number; roomCount: number; workers: number } {
  let values;
  try {
    ({ values } = parseArgs({
      options: {
        seconds: { type: 'string', default: '60' },
        clients: { type: 'string', default: '200' },
        rooms: { type: 'string', default: '50' },
        workers: { type: 'string', default: '1' },
        help: { type: 'boolean', short: 'h', default: false },
      },
    }));
  } catch (err) {
    console.error(`soak: ${(err as Error).message}\n\n${USAGE}`);
    process.exit(2);
  }
  if (values.help) {
    console.log(USAGE);
    process.exit(0);
  }
  const count = (name: string, text: string, max: number): number => {
    const n = Number(text);
    if (!Number.isInteger(n) || n < 1) {
      console.error(`soak: --${name} takes a whole number >= 1, not ${text}\n\n${USAGE}`);
      process.exit(2);
    }
    return Math.min(n, max);
  };
  return {
    seconds: count('seconds', values.seconds, 3_600),
    concurrency: count('clients', values.clients, 2_000),
    roomCount: count('rooms', values.rooms, 10_000),
    workers: count('workers', values.workers, 64),
  };
}

const { seconds, concurrency, roomCount, workers } = options();
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

/** One process of the server's tree, measured. */
interface ProcessSample {
  pid: number;
  rssMiB: number;
  /** JS heap used after a full GC (NaN when not collected for this sample). */
  heapMiB: number;
}

interface Sample {
  processes: ProcessSample[];
  handles: number;
  rooms: number;
  connections: number;
}

// soak-gc.cjs (preloaded into every process: workers are forked with the same execArgv)
// runs a full GC on SIGUSR2 and reports the heap used after it on stderr.
const server = spawn(
  process.execPath,
  [
    '--expose-gc',
    '--require',
    path.join(root, 'scripts/soak-gc.cjs'),
    path.join(root, 'dist/cli/main.js'),
    'serve',
    path.join(root, 'examples/chat/service.ts'),
    '--port',
    '0',
    '--host',
    '127.0.0.1',
    '--room-idle-timeout',
    '1',
    '--resume-grace',
    '1',
    '--workers',
    String(workers),
  ],
  { stdio: ['ignore', 'pipe', 'pipe'] },
);
// Whatever happens to this script, the server goes with it (its workers follow their primary).
process.on('exit', () => server.kill('SIGKILL'));

/** Heaps reported after GC, by pid, and who waits for them. */
const heaps = new Map<number, number>();
const heapWaiters: Array<() => void> = [];
let stderrLine = '';
server.stderr.on('data', (d: Buffer) => {
  const lines = (stderrLine + d.toString()).split('\n');
  stderrLine = lines.pop() ?? '';
  for (const line of lines) {
    const gc = /^soak-gc pid=(\d+) heapUsed=(\d+)$/.exec(line);
    if (gc === null) process.stderr.write(`${line}\n`);
    else {
      heaps.set(Number(gc[1]), Number(gc[2]));
      for (const wake of heapWaiters.splice(0)) wake();
    }
  }
});

const port = await new Promise<number>((resolve, reject) => {
  let text = '';
  // The server logs as it goes: read it all, so the pipe never fills.
  server.stdout.on('data', (d: Buffer) => {
    if (text.length > 65_536) return;
    text += d.toString();
    const found = /"port":(\d+)/.exec(text);
    if (found) resolve(Number(found[1]));
  });
  server.on('exit', (code) => reject(new Error(`server exited with ${code}`)));
  setTimeout(() => reject(new Error('server did not start in 30 s')), 30_000).unref();
});

/** The server and every process under it (its workers), from /proc. */
function tree(pid: number): number[] {
  let children: number[] = [];
  try {
    children = readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').split(' ').filter(Boolean).map(Number);
  } catch {
    // gone, or not Linux
  }
  return [pid, ...children.flatMap(tree)];
}

function rssMiB(pid: number): number {
  try {
    return Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? NaN) / 1024;
  } catch {
    return NaN;
  }
}

async function sample(collectedHeaps?: Map<number, number>): Promise<Sample> {
  const pids = tree(server.pid!);
  const status = (await (await fetch(`http://127.0.0.1:${port}/status?format=json`, { signal: AbortSignal.timeout(5_000) })).json()) as { rooms: number; connections: number };
  const metrics = await (await fetch(`http://127.0.0.1:${port}/metrics`, { signal: AbortSignal.timeout(5_000) })).text();
  // With --workers, the primary sums the workers' handles (the primary's own are not in it).
  const handles = Number(/^stateroom_nodejs_active_handles_total (\d+)/m.exec(metrics)?.[1] ?? NaN);
  const processes = pids.map((pid) => ({ pid, rssMiB: rssMiB(pid), heapMiB: (collectedHeaps?.get(pid) ?? NaN) / 2 ** 20 }));
  return { processes, handles, rooms: status.rooms, connections: status.connections };
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

/**
 * Asks every process of the tree for a full garbage collection and waits (bounded) until
 * each has reported its heap after it, so samples show memory held, not garbage.
 */
async function collected(): Promise<Sample> {
  const pids = tree(server.pid!);
  for (const pid of pids) heaps.delete(pid);
  for (const pid of pids) process.kill(pid, 'SIGUSR2');
  const all = new Promise<void>((resolve) => {
    const check = (): void => (pids.every((pid) => heaps.has(pid)) ? resolve() : void heapWaiters.push(check));
    check();
  });
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([all, new Promise((r) => (timer = setTimeout(r, 10_000)))]);
  clearTimeout(timer);
  return sample(new Map(heaps));
}

const start = await collected();
let peak = start;
let visits = 0;
const deadline = Date.now() + seconds * 1_000;
console.log(`soak: ${seconds} s, ${concurrency} concurrent clients over ${roomCount} rooms, server pid ${server.pid} on :${port}, ${start.processes.length} process(es)`);
console.log(`start (after a full GC in every process):\n${fmt(start)}`);
const total = (s: Sample): number => s.processes.reduce((sum, p) => sum + p.rssMiB, 0);
const progress = setInterval(() => {
  void sample().then((s) => {
    if (total(s) > total(peak)) peak = s;
    console.log(`  ${Math.round((deadline - Date.now()) / 1000)} s left, ${visits} visits: RSS ${total(s).toFixed(1)} MiB in all, rooms ${s.rooms}, connections ${s.connections}`);
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
console.log(`after churn:\n${fmt(churned)}`);
console.log(`end (5 s later, after a full GC in every process):\n${fmt(end)}`);
console.log(`peak (by total RSS):\n${fmt(peak)}`);
// The bar: every process's RSS back within 10% of its start, nothing left behind. RSS also
// counts pages the allocator keeps mapped for reuse, so the JS heap after a full GC (what
// each process really still holds) is printed beside it.
const verdicts = end.processes.map((p) => {
  const before = start.processes.find((s) => s.pid === p.pid);
  const grew = before === undefined ? NaN : (p.rssMiB - before.rssMiB) / before.rssMiB;
  const role = p.pid === server.pid ? (workers > 1 ? 'primary' : 'server') : 'worker';
  return { ok: grew <= 0.1, line: `  ${role} ${p.pid}: RSS ${before?.rssMiB.toFixed(1) ?? '?'} → ${p.rssMiB.toFixed(1)} MiB (${(grew * 100).toFixed(1)}%), JS heap after GC ${before?.heapMiB.toFixed(1) ?? '?'} → ${p.heapMiB.toFixed(1)} MiB` };
});
const sameProcesses = end.processes.length === start.processes.length && verdicts.every((v) => !v.line.includes('? →'));
const clean = end.rooms === 0 && end.connections === 0 && end.handles <= start.handles;
const verdict = clean && sameProcesses && verdicts.every((v) => v.ok) ? 'PASS' : 'CHECK';
console.log(`${verdict}: ${visits} visits; rooms left ${end.rooms}, clients left ${end.connections}, handles ${start.handles} → ${end.handles}${sameProcesses ? '' : ' (a process was replaced during the run)'}`);
for (const v of verdicts) console.log(`${v.ok ? '' : '! '}${v.line}`);
server.kill('SIGTERM');

function fmt(s: Sample): string {
  const lines = s.processes.map((p) => `  pid ${p.pid}: RSS ${p.rssMiB.toFixed(1)} MiB${Number.isNaN(p.heapMiB) ? '' : `, JS heap used ${p.heapMiB.toFixed(1)} MiB`}`);
  return `${lines.join('\n')}\n  handles ${s.handles}, rooms ${s.rooms}, connections ${s.connections}`;
}
