// The load generator, run in its own process by bench/run.ts:
//
//   node --import tsx bench/load.ts '<LoadPlan as JSON>'
//
// It opens every client, warms the server up (each client sends `warmup` messages, all of them
// delivered, so that the JIT's first compilations are not billed to the window: they are paid
// once per process, not per delivery), prints {"ready":true}, waits for "go" on stdin (so the
// driver can read both processes' CPU around the load alone, not the connection setup), runs the load,
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
  /** Messages each client sends before "ready", outside the measured window (0: none). */
  readonly warmup?: number;
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

/** One round of traffic: every client sends `messages`, and it ends when all are delivered. */
interface Phase {
  readonly messages: number;
  readonly expected: number;
  delivered: number;
  /** Round trips are recorded (the measured phase) or not (the warm-up). */
  readonly record: boolean;
  readonly finish: () => void;
  readonly finished: Promise<void>;
}

function phaseOf(messages: number, clientCount: number, clientsPerRoom: number, record: boolean): Phase {
  let finish: () => void = () => {};
  const finished = new Promise<void>((resolve) => (finish = resolve));
  const expected = clientCount * clientsPerRoom * messages;
  if (expected === 0) finish();
  return { messages, expected, delivered: 0, record, finish, finished };
}

async function main(plan: LoadPlan): Promise<void> {
  const clientCount = plan.rooms * plan.clientsPerRoom;
  const warmup = Math.max(0, plan.warmup ?? 0);
  const measured = phaseOf(plan.messages, clientCount, plan.clientsPerRoom, true);
  // Preallocated, so the generator itself allocates little per message.
  const latencies = new Float64Array(clientCount * plan.messages);
  let latencyCount = 0;
  let open = 0;
  let phase = measured;

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
    const sentAt = new Float64Array(Math.max(plan.messages, warmup));
    let sent = 0;
    const sendNext = (): void => {
      const text = `${prefix}${sent}:`;
      sentAt[sent++] = performance.now();
      client.send(text + padding.slice(text.length));
    };
    const onText = (text: string): void => {
      if (++phase.delivered === phase.expected) phase.finish();
      if (!text.startsWith(prefix)) return;
      const seq = Number.parseInt(text.slice(prefix.length), 10);
      if (phase.record) latencies[latencyCount++] = performance.now() - (sentAt[seq] ?? 0);
      if (sent < phase.messages) sendNext();
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
      // A phase starts only once the previous one is wholly delivered, so no message of it is
      // still on its way: counting starts again from 0.
      sent = 0;
      while (sent < Math.min(plan.window, phase.messages)) sendNext();
    });
  }

  /** Runs `next` to its end, or until `deadlineMs` passes; whether it timed out. */
  async function runPhase(next: Phase): Promise<boolean> {
    phase = next;
    for (const start of starters) start();
    let timedOut = false;
    const deadline = setTimeout(() => {
      timedOut = true;
      next.finish();
    }, plan.deadlineMs);
    await next.finished;
    clearTimeout(deadline);
    return timedOut;
  }

  if (warmup > 0 && (await runPhase(phaseOf(warmup, clientCount, plan.clientsPerRoom, false)))) {
    throw new Error(`the warm-up (${warmup} messages per client) was not delivered within ${plan.deadlineMs} ms`);
  }
  console.log(JSON.stringify({ ready: true }));
  await new Promise<void>((resolve) => createInterface({ input: process.stdin }).once('line', () => resolve()));

  const started = performance.now();
  const timedOut = await runPhase(measured);
  const wallSeconds = (performance.now() - started) / 1000;
  const { delivered, expected } = measured;

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
