// The crossing floor: the native TS broadcast service (as stateroom.mjs serves it), but every
// room event first crosses to a thread and back, the way a WASM pool room's calls do — two
// threads (the pool's default on two cores), rooms placed in turn, a turn's events in one
// batch (setImmediate), the thread woken with Atomics.notify and the answer awaited with
// Atomics.waitAsync. The thread does nothing but answer (crossing-thread.mjs), so this is what
// the crossing alone costs: no guest, no codec, no records. `wasm-pool` ÷ this target is the
// pool's own work; this target ÷ `stateroom` is the least any design with a thread crossing
// per event can cost on the machine. Not a server to use. Prints {"port":N} once listening.
// Needs `npm run build`.
import { setImmediate } from 'node:timers';
import { Worker } from 'node:worker_threads';
import { serve } from '../../dist/index.js';
import { loadService } from '../../dist/project/load-service.js';
import { nativeAdapterFactory } from '../../dist/service/native.js';

const THREADS = 2;

/** One thread and the batches on their way to it and back. */
class Crossing {
  constructor() {
    this.cells = new Int32Array(new SharedArrayBuffer(8));
    this.thread = new Worker(new URL('./crossing-thread.mjs', import.meta.url), { workerData: this.cells.buffer });
    this.thread.unref();
    this.asked = 0;
    /** The batch this turn is gathering: @type {{ promise: Promise<void>, resolve: () => void } | undefined} */
    this.next = undefined;
    /** Batches sent, oldest first: @type {{ seq: number, resolve: () => void }[]} */
    this.sent = [];
    this.listening = false;
    this.flushBound = () => this.flush();
  }

  /** Resolves once the event's batch has been to the thread and back. */
  pass() {
    if (this.next === undefined) {
      let resolve = () => {};
      const promise = new Promise((r) => (resolve = r));
      this.next = { promise, resolve };
      setImmediate(this.flushBound);
    }
    return this.next.promise;
  }

  flush() {
    const batch = this.next;
    this.next = undefined;
    // An Int32 counter: a benchmark run sends far fewer than 2^31 batches.
    const seq = ++this.asked;
    this.sent.push({ seq, resolve: batch.resolve });
    Atomics.store(this.cells, 0, seq);
    Atomics.notify(this.cells, 0);
    if (!this.listening) void this.listen();
  }

  async listen() {
    this.listening = true;
    while (this.sent.length > 0) {
      const answered = Atomics.load(this.cells, 1);
      while (this.sent.length > 0 && this.sent[0].seq <= answered) this.sent.shift().resolve();
      if (this.sent.length === 0) break;
      const wait = Atomics.waitAsync(this.cells, 1, answered);
      if (wait.async) await wait.value;
    }
    this.listening = false;
  }
}

/** The room's native adapter behind the crossing: each call waits for its batch to come back. */
function crossed(inner, crossing) {
  const after = (call) => (...args) => crossing.pass().then(() => call(...args));
  return {
    init: after(() => inner.init()),
    connect: after((client) => inner.connect(client)),
    disconnect: after((client) => inner.disconnect(client)),
    message: after((client, payload) => inner.message(client, payload)),
    timer: after(() => inner.timer()),
    messages: after(async (batch) => {
      for (const { client, payload } of batch) {
        const done = inner.message(client, payload);
        if (done instanceof Promise) await done;
      }
    }),
    beforeDispose: () => inner.beforeDispose?.(),
  };
}

// Started with the first rooms, as the pool's threads are (bench/threads.mjs counts threads
// that appear while clients connect as the guests').
/** @type {Crossing[]} */
const crossings = [];
let placed = 0;
const crossingOf = () => (crossings[placed++ % THREADS] ??= new Crossing());
const { service } = await loadService(new URL('./broadcast.ts', import.meta.url).pathname);
const native = nativeAdapterFactory(service);
const source = {
  name: 'broadcast.ts behind a bare thread crossing',
  createAdapter: async (roomId, ctx) => crossed(await native(roomId, ctx), crossingOf()),
};
const server = await serve(source, { port: 0, host: '127.0.0.1', logLevel: 'warn' });
console.log(JSON.stringify({ port: server.port }));
process.on('SIGTERM', () => void server.close().then(() => process.exit(0)));
