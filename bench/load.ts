// The load generator, run in its own process by bench/run.ts:
//
//   node --import tsx bench/load.ts '<LoadPlan as JSON>'
//
// It opens every client, prints {"ready":true}, waits for "go" on stdin (so the driver can
// read both processes' CPU around the load alone, not the connection setup), runs the load,
// prints one LoadResult line and exits. Each client sends `messages` text messages of ~64
// bytes, keeping at most `window` of its own in flight: the copy the server broadcasts back
// to the sender is the ack, and the time from send to that copy is the latency.
import { createInterface } from 'node:readline';
import { io as socketIo } from 'socket.io-client';
import { WebSocket } from 'ws';

export interface LoadPlan {
  /** 'ws': a plain WebSocket to `/ws/<room>`; 'socketio': socket.io-client, websocket transport. */
  readonly protocol: 'ws' | 'socketio';
  readonly port: number;
  readonly rooms: number;
  readonly clientsPerRoom: number;
  readonly messages: number;
  readonly window: number;
  /** Give up after this long, reporting what was delivered (the run is then marked timed out). */
  readonly deadlineMs: number;
}

export interface LoadResult {
  /** Messages received by all clients together. */
  readonly delivered: number;
  readonly expected: number;
  /** From "go" to the last delivery (or to the deadline). */
  readonly wallSeconds: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly timedOut: boolean;
}

/** The little a client needs, whatever library is underneath. */
interface Client {
  send(text: string): void;
}

const MESSAGE_BYTES = 64;
/** Connections opened at once: more would overflow the listen backlog (511) on many-rooms. */
const CONNECT_BATCH = 100;

function connect(plan: LoadPlan, room: string, onText: (text: string) => void): Promise<Client> {
  return new Promise((resolve, reject) => {
    if (plan.protocol === 'ws') {
      const ws = new WebSocket(`ws://127.0.0.1:${plan.port}/ws/${room}`, { perMessageDeflate: false });
      ws.on('message', (data, isBinary) => {
        if (!isBinary) onText(String(data));
      });
      ws.once('open', () => resolve({ send: (text) => ws.send(text) }));
      ws.once('error', reject);
    } else {
      // forceNew: without it socket.io-client multiplexes every client over one connection.
      const socket = socketIo(`http://127.0.0.1:${plan.port}`, {
        transports: ['websocket'],
        query: { room },
        forceNew: true,
        reconnection: false,
      });
      socket.on('m', (text: unknown) => {
        if (typeof text === 'string') onText(text);
      });
      socket.once('connect', () => resolve({ send: (text) => socket.emit('m', text) }));
      socket.once('connect_error', reject);
    }
  });
}

function percentile(sorted: Float64Array, p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))] ?? NaN;
}

async function main(plan: LoadPlan): Promise<void> {
  const clientCount = plan.rooms * plan.clientsPerRoom;
  const expected = clientCount * plan.clientsPerRoom * plan.messages;
  // Preallocated, so the generator itself allocates little per message.
  const latencies = new Float64Array(clientCount * plan.messages);
  let latencyCount = 0;
  let delivered = 0;
  let finish: () => void = () => {};
  const finished = new Promise<void>((resolve) => (finish = resolve));

  const starters: (() => void)[] = [];
  for (let index = 0; index < clientCount; index += CONNECT_BATCH) {
    const batch: Promise<void>[] = [];
    for (let i = index; i < Math.min(clientCount, index + CONNECT_BATCH); i++) {
      batch.push(openClient(i));
    }
    await Promise.all(batch);
  }

  async function openClient(index: number): Promise<void> {
    const prefix = `${index}:`;
    const padding = 'x'.repeat(MESSAGE_BYTES);
    const sentAt = new Float64Array(plan.messages);
    let sent = 0;
    const sendNext = (): void => {
      const text = `${prefix}${sent}:`;
      sentAt[sent++] = performance.now();
      client.send(text + padding.slice(text.length));
    };
    const client = await connect(plan, `room-${index % plan.rooms}`, (text) => {
      if (++delivered === expected) finish();
      if (!text.startsWith(prefix)) return;
      const seq = Number.parseInt(text.slice(prefix.length), 10);
      latencies[latencyCount++] = performance.now() - (sentAt[seq] ?? 0);
      if (sent < plan.messages) sendNext();
    });
    starters.push(() => {
      while (sent < Math.min(plan.window, plan.messages)) sendNext();
    });
  }

  console.log(JSON.stringify({ ready: true }));
  await new Promise<void>((resolve) => createInterface({ input: process.stdin }).once('line', () => resolve()));

  const started = performance.now();
  for (const start of starters) start();
  let timedOut = false;
  const deadline = setTimeout(() => {
    timedOut = true;
    finish();
  }, plan.deadlineMs);
  await finished;
  const wallSeconds = (performance.now() - started) / 1000;
  clearTimeout(deadline);

  const sorted = latencies.subarray(0, latencyCount).sort();
  const result: LoadResult = {
    delivered,
    expected,
    wallSeconds,
    p50Ms: percentile(sorted, 0.5),
    p99Ms: percentile(sorted, 0.99),
    timedOut,
  };
  console.log(JSON.stringify(result));
  // Stay up (clients open, stdin held) until the driver has read this process's CPU and
  // sends SIGTERM: exiting here would race the driver's read of /proc.
}

await main(JSON.parse(process.argv[2] ?? '{}') as LoadPlan);
