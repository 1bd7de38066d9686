// The benchmark's load generator (bench/load.ts) against a broadcast server of the test's own
// that counts what it receives: the warm-up is sent and wholly delivered before "ready", and
// the measured result counts the measured messages alone.
import assert from 'node:assert/strict';
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { createInterface } from 'node:readline';
import { test } from 'node:test';
import { WebSocketServer, type WebSocket } from 'ws';
import { ROOT } from './helpers/cli.js';
import { within } from './helpers/deadline.js';

const LINE_TIMEOUT_MS = 20_000;

/** Each line `child` prints, in order. */
function linesOf(child: ChildProcessWithoutNullStreams): () => Promise<string> {
  const queued: string[] = [];
  let waiting: ((line: string) => void) | undefined;
  createInterface({ input: child.stdout }).on('line', (line) => {
    if (waiting === undefined) queued.push(line);
    else {
      waiting(line);
      waiting = undefined;
    }
  });
  return () => {
    const line = queued.shift();
    return line !== undefined ? Promise.resolve(line) : new Promise((resolve) => (waiting = resolve));
  };
}

test('the load generator warms the server up before "ready" and measures only what follows "go"', { timeout: 60_000 }, async (t) => {
  // Rooms by path, every text broadcast to the room, as the benchmark's servers do.
  const rooms = new Map<string, Set<WebSocket>>();
  let received = 0;
  const wss = new WebSocketServer({ host: '127.0.0.1', port: 0 });
  wss.on('connection', (socket, request) => {
    const room = request.url ?? '/';
    const members = rooms.get(room) ?? new Set<WebSocket>();
    rooms.set(room, members);
    members.add(socket);
    socket.on('message', (data, isBinary) => {
      received++;
      for (const member of members) member.send(data, { binary: isBinary });
    });
    socket.on('close', () => members.delete(socket));
  });
  await once(wss, 'listening');
  t.after(() => wss.close());
  const { port } = wss.address() as AddressInfo;

  const plan = { protocol: 'ws', port, rooms: 2, clientsPerRoom: 3, messages: 7, window: 2, warmup: 4, deadlineMs: 15_000 };
  const load = spawn(process.execPath, ['--import', 'tsx', 'bench/load.ts', JSON.stringify(plan)], { cwd: ROOT });
  t.after(() => load.kill('SIGKILL'));
  const next = linesOf(load);
  const clients = plan.rooms * plan.clientsPerRoom;

  assert.deepEqual(JSON.parse(await within(next(), 'the load generator\'s "ready"', LINE_TIMEOUT_MS)), { ready: true });
  assert.equal(received, clients * plan.warmup, 'every warm-up message reached the server before "ready", and nothing more');

  load.stdin.write('go\n');
  const result = JSON.parse(await within(next(), 'the load generator\'s result', LINE_TIMEOUT_MS)) as { delivered: number; expected: number; timedOut: boolean; open: number };
  assert.equal(received, clients * (plan.warmup + plan.messages));
  assert.equal(result.expected, clients * plan.clientsPerRoom * plan.messages, 'the warm-up is not in the expected count');
  assert.equal(result.delivered, result.expected, 'the measured window counts its own deliveries only');
  assert.equal(result.timedOut, false);
  assert.equal(result.open, clients);
});
