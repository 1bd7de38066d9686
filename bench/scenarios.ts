// The load shapes every target is measured under. `traffic` scenarios send messages and are
// judged on CPU per delivery and round-trip time; the `idle` one only connects and is judged
// on the server memory each connection holds.

export interface Scenario {
  readonly name: string;
  readonly kind: 'traffic' | 'idle';
  readonly rooms: number;
  readonly clientsPerRoom: number;
  /** Messages each client sends (0 when idle). */
  readonly messages: number;
  /** How many of a client's own messages may be in flight at once. */
  readonly window: number;
  /**
   * Messages each client sends first, outside the measured window: a server's first thousands
   * of events run while the JIT compiles (on V8's helper threads, billed to the process), a
   * cost paid once per process, not per delivery. A tenth of `messages`, and at least ~8,000
   * messages in all: a WASM pool's guest threads were still compiling after 1,600 (their
   * helper-thread CPU, `node --import tsx bench/threads.mjs latency pool 2 <warm-up>`: 0.19 s
   * per 100k deliveries after 200 messages per client, 0.016 after 1,000). `--quick` runs a
   * tenth only.
   */
  readonly warmup: number;
}

export function scenarios(quick: boolean): readonly Scenario[] {
  return [
    { name: 'broadcast', kind: 'traffic', rooms: 1, clientsPerRoom: 32, messages: quick ? 100 : 2_000, window: 16, warmup: quick ? 10 : 250 },
    { name: 'many-rooms', kind: 'traffic', rooms: 400, clientsPerRoom: 4, messages: quick ? 20 : 200, window: 4, warmup: quick ? 2 : 20 },
    // One message in flight per client: the round trip of a lightly loaded server, not queueing.
    { name: 'latency', kind: 'traffic', rooms: 1, clientsPerRoom: 8, messages: quick ? 200 : 2_000, window: 1, warmup: quick ? 20 : 1_000 },
    quick
      ? { name: 'idle', kind: 'idle', rooms: 50, clientsPerRoom: 20, messages: 0, window: 0, warmup: 0 }
      : { name: 'idle', kind: 'idle', rooms: 200, clientsPerRoom: 20, messages: 0, window: 0, warmup: 0 },
  ];
}

export const connectionsOf = (scenario: Scenario): number => scenario.rooms * scenario.clientsPerRoom;
