// Hibernation with clients (issue 13, item 4): a WASM room whose clients stay connected but
// which has had no event for `hibernateAfterMs` frees its instance, and the next event restores
// it first. Two measurements, each against a real server process (servers/stateroom-hibernate.mjs,
// durable rooms in a temporary state directory) and real WebSocket clients:
//
//   wake    the round trip of a message to an awake room, against the first message to the
//           same room once it hibernated: the difference is what waking adds. One client per
//           room, one message in flight in the whole run (rooms one after the other), so
//           nothing queues; median over the rooms. For the counter guest
//           (test/fixtures/wasm/counter.wat) and the Rust guest, in pool and inline isolation.
//   memory  N rooms of the Rust guest, one client each, 100 increments each: the server's
//           RSS (process tree, settled with GCs as in the idle scenario) before the first
//           connection, with every room live, and with every room hibernated
//           (`/status?format=json` says hibernatedRooms = N); per room.
//
//   node --import tsx bench/hibernation.ts [wake|memory|all] [rooms for wake, default 50] [rooms for memory, default 200] [isolations, default pool,inline]
//
// Needs `npm run build` (the server imports dist/).
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { WebSocket } from 'ws';
import { nextJson, start, stop, type Child } from './child.js';
import { collectGarbage, gcEnv } from './gc.js';
import { rssKiB } from './proc.js';
import { settledKiB, type Settled } from './settle.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const SERVER = 'bench/servers/stateroom-hibernate.mjs';
const COUNTER_WAT = path.join(ROOT, 'test/fixtures/wasm/counter.wat');
const RUST_GUEST = path.join(ROOT, 'test/fixtures/rust/guest.wasm');
const what = process.argv[2] ?? 'all';
const WAKE_ROOMS = Number(process.argv[3] ?? 50);
const MEMORY_ROOMS = Number(process.argv[4] ?? 200);
const ISOLATIONS = (process.argv[5] ?? 'pool,inline').split(',');
/** Round trips per room, awake, before and after its wake-up (their median is the room's figure). */
const AWAKE_TRIPS = 5;

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** A client that hears every message and can wait for the next one. */
class Client {
  private readonly waiting: Array<() => void> = [];
  private readonly heard: number[] = [];
  private constructor(private readonly ws: WebSocket) {
    ws.on('message', () => {
      this.heard.push(performance.now());
      this.waiting.shift()?.();
    });
  }

  static open(port: number, room: string): Promise<Client> {
    return new Promise((resolve, reject) => {
      const ws = new WebSocket(`ws://127.0.0.1:${port}/ws/${encodeURIComponent(room)}`, { perMessageDeflate: false });
      ws.once('open', () => resolve(new Client(ws)));
      ws.once('error', reject);
    });
  }

  /** Waits for `count` messages heard from now on (or already heard and not taken). */
  async next(count = 1): Promise<void> {
    for (let i = 0; i < count; i++) {
      if (this.heard.length === 0) {
        await Promise.race([
          new Promise<void>((resolve) => this.waiting.push(resolve)),
          sleep(10_000).then(() => Promise.reject(new Error('no answer within 10 s'))),
        ]);
      }
      this.heard.shift();
    }
  }

  /** Milliseconds from sending `text` to the next message heard. */
  async roundTrip(text: string): Promise<number> {
    this.heard.length = 0;
    const sent = performance.now();
    this.ws.send(text);
    await this.next();
    return performance.now() - sent;
  }

  send(text: string): void {
    this.ws.send(text);
  }

  close(): void {
    this.ws.close();
  }
}

async function status(port: number): Promise<{ rooms: number; hibernatedRooms?: number }> {
  const response = await fetch(`http://127.0.0.1:${port}/status?format=json`);
  return (await response.json()) as { rooms: number; hibernatedRooms?: number };
}

async function untilHibernated(port: number, rooms: number, withinMs: number): Promise<void> {
  const deadline = performance.now() + withinMs;
  for (;;) {
    const s = await status(port);
    if (s.hibernatedRooms === rooms) return;
    if (performance.now() > deadline) throw new Error(`only ${s.hibernatedRooms} of ${rooms} rooms hibernated within ${withinMs} ms (status: ${JSON.stringify(s)})`);
    await sleep(100);
  }
}

async function withServer<T>(args: readonly string[], body: (server: Child, port: number) => Promise<T>): Promise<T> {
  const server = start('server', [SERVER, ...args], ROOT, gcEnv());
  try {
    const { port } = await nextJson<{ port: number }>(server, 60_000);
    return await body(server, port);
  } finally {
    await stop(server);
  }
}

const median = (values: readonly number[]): number => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
};
const quantile = (values: readonly number[], q: number): number => [...values].sort((a, b) => a - b)[Math.min(values.length - 1, Math.floor(q * values.length))]!;

interface Wake {
  readonly guest: string;
  readonly isolation: string;
  readonly awakeMs: number;
  readonly firstMs: number;
  readonly firstP90Ms: number;
  readonly afterMs: number;
  readonly addedMs: number;
}

/**
 * `rooms` rooms, one client each, visited one after the other: warm-up, awake round trips,
 * then (all hibernated) the first message to each and awake round trips right after it.
 */
async function wake(guest: string, file: string, message: string, welcome: boolean, isolation: string, rooms: number): Promise<Wake> {
  const hibernateAfterMs = 1_000;
  return withServer([file, isolation, String(hibernateAfterMs)], async (_server, port) => {
    const clients: Client[] = [];
    const awake: number[] = [];
    for (let i = 0; i < rooms; i++) {
      const client = await Client.open(port, `wake-${i}`);
      if (welcome) await client.next();
      clients.push(client);
      for (let w = 0; w < 3; w++) await client.roundTrip(message); // warm-up: JIT, the room's first events
      const trips: number[] = [];
      for (let t = 0; t < AWAKE_TRIPS; t++) trips.push(await client.roundTrip(message));
      awake.push(median(trips));
    }
    await untilHibernated(port, rooms, hibernateAfterMs + 30_000);
    await sleep(500); // the last rooms' images are taken and their instances disposed
    const first: number[] = [];
    const after: number[] = [];
    for (const client of clients) {
      first.push(await client.roundTrip(message));
      const trips: number[] = [];
      for (let t = 0; t < AWAKE_TRIPS; t++) trips.push(await client.roundTrip(message));
      after.push(median(trips));
    }
    const s = await status(port);
    if (s.hibernatedRooms !== 0) throw new Error(`${s.hibernatedRooms} rooms still hibernated after their first message`);
    for (const client of clients) client.close();
    const firstMs = median(first);
    const afterMs = median(after);
    return { guest, isolation, awakeMs: median(awake), firstMs, firstP90Ms: quantile(first, 0.9), afterMs, addedMs: firstMs - afterMs };
  });
}

interface Memory {
  readonly isolation: string;
  readonly rooms: number;
  readonly before: Settled;
  readonly live: Settled;
  readonly asleep: Settled;
}

const SETTLE = { minMs: 10_000, stableMs: 2_000, maxMs: 20_000 };

async function memory(isolation: string, rooms: number): Promise<Memory> {
  // Long enough that the rooms stay live while RSS settles with them (at most 20 s after the last event).
  const hibernateAfterMs = 30_000;
  return withServer([RUST_GUEST, isolation, String(hibernateAfterMs)], async (server, port) => {
    const settle = (): Promise<Settled> => settledKiB(() => rssKiB(server.pid), { ...SETTLE, poke: { everyMs: 1_000, run: () => collectGarbage(server.pid) } });
    const before = await settle();
    const clients: Client[] = [];
    for (let batch = 0; batch < rooms; batch += 50) {
      const opened = await Promise.all(Array.from({ length: Math.min(50, rooms - batch) }, (_, i) => Client.open(port, `memory-${batch + i}`)));
      clients.push(...opened);
    }
    // Every room: the welcome, then 100 increments and their 100 answers.
    await Promise.all(
      clients.map(async (client) => {
        await client.next();
        for (let i = 0; i < 100; i++) client.send('increment');
        await client.next(100);
      }),
    );
    const live = await settle();
    const s = await status(port);
    if (s.rooms !== rooms || (s.hibernatedRooms ?? 0) !== 0) throw new Error(`expected ${rooms} live rooms, status says ${JSON.stringify(s)}`);
    await untilHibernated(port, rooms, hibernateAfterMs + 30_000);
    const asleep = await settle();
    // Still there, and answering: the first message wakes the room.
    await clients[0]!.roundTrip('increment');
    for (const client of clients) client.close();
    return { isolation, rooms, before, live, asleep };
  });
}

const f = (ms: number): string => ms.toFixed(2);

if (what === 'wake' || what === 'all') {
  const rows: Wake[] = [];
  for (const isolation of ISOLATIONS) {
    rows.push(await wake('counter.wat', COUNTER_WAT, 'x', false, isolation, WAKE_ROOMS));
    rows.push(await wake('Rust guest', RUST_GUEST, 'increment', true, isolation, WAKE_ROOMS));
  }
  console.log(`\nWaking a hibernated room: medians over ${WAKE_ROOMS} rooms, one message in flight.`);
  console.log('| guest | isolation | awake RTT ms | first message after hibernation ms (p90) | awake again ms | added by waking ms |');
  console.log('|---|---|---:|---:|---:|---:|');
  for (const r of rows) console.log(`| ${r.guest} | ${r.isolation} | ${f(r.awakeMs)} | ${f(r.firstMs)} (${f(r.firstP90Ms)}) | ${f(r.afterMs)} | **${f(r.addedMs)}** |`);
}

if (what === 'memory' || what === 'all') {
  const rows: Memory[] = [];
  for (const isolation of ISOLATIONS) rows.push(await memory(isolation, MEMORY_ROOMS));
  console.log(`\nMemory per room, Rust guest, ${MEMORY_ROOMS} rooms with one client each (server RSS, process tree, settled).`);
  console.log('| isolation | RSS before KiB | live KiB | hibernated KiB | per live room KiB | per hibernated room KiB | hibernated / live |');
  console.log('|---|---:|---:|---:|---:|---:|---:|');
  for (const r of rows) {
    const live = (r.live.kib - r.before.kib) / r.rooms;
    const asleep = (r.asleep.kib - r.before.kib) / r.rooms;
    const unsettled = [r.before, r.live, r.asleep].some((s) => !s.settled) ? ' (RSS still moving)' : '';
    console.log(`| ${r.isolation} | ${r.before.kib} | ${r.live.kib} | ${r.asleep.kib} | ${live.toFixed(1)} | ${asleep.toFixed(1)} | ${(asleep / live).toFixed(2)}${unsettled} |`);
  }
}
