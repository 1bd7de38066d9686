// The load generator, run in its own process by bench/run.ts:
//
//   node --import tsx bench/load.ts '<LoadPlan as JSON>'
//
// It opens every client, prints {"ready":true}, waits for "go" on stdin (so the driver can
// read both processes' CPU around the load alone, not the connection setup), runs the load,
// prints one LoadResult line and stays up (clients open) until the driver stops it. Each client
// sends `messages` text messages of ~64 bytes, keeping at most `window` of its own in flight:
// the copy the server broadcasts back to the sender is the ack, and the time from send to that
// copy is the latency. With `messages` 0 (the idle scenario) "go" only asks how many clients
// are still connected.
import { createInterface } from 'node:readline';
import { connect, type Client, type Protocol } from './clients.js';

export interface LoadPlan {
  readonly protocol: Protocol;
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
  /** Clients still connected when the result was printed. */
  readonly open: number;
}

const MESSAGE_BYTES = 64;
/**
 * Connections opened at once, a batch after the previous one is open: more would overflow the
 * listen backlog (511) and have loopback drop SYNs, which costs a 1 s retransmit each.
 */
const CONNECT_BATCH = 100;

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
  let open = 0;
  let finish: () => void = () => {};
  const finished = new Promise<void>((resolve) => (finish = resolve));
  if (expected === 0) finish();

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
    const onText = (text: string): void => {
      if (++delivered === expected) finish();
      if (!text.startsWith(prefix)) return;
      const seq = Number.parseInt(text.slice(prefix.length), 10);
      latencies[latencyCount++] = performance.now() - (sentAt[seq] ?? 0);
      if (sent < plan.messages) sendNext();
    };
    let up = false;
    const onClose = (): void => {
      if (up) open--;
      up = false;
    };
    const client: Client = await connect(plan.protocol, plan.port, `room-${index % plan.rooms}`, { onText, onClose });
    up = true;
    open++;
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
    open,
  };
  console.log(JSON.stringify(result));
  // Stay up (clients open, stdin held) until the driver has read this process's CPU and
  // sends SIGTERM: exiting here would race the driver's read of /proc.
}

await main(JSON.parse(process.argv[2] ?? '{}') as LoadPlan);
