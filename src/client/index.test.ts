import assert from 'node:assert/strict';
import { test } from 'node:test';
import { connect, DEFAULT_CLIENT_OPTIONS, type SocketConstructor } from './index.js';

/** Never used: every case below is refused before a socket is made. */
const NoSocket = class {
  constructor() {
    throw new Error('a socket was made');
  }
} as unknown as SocketConstructor;

test('invalid options are refused before connecting, naming the option', () => {
  const cases: Array<[object, RegExp]> = [
    [{ minDelayMs: 0 }, /minDelayMs/],
    [{ minDelayMs: 500, maxDelayMs: 100 }, /minDelayMs/],
    [{ maxQueued: -1 }, /maxQueued/],
    [{ maxAttempts: Number.NaN }, /maxAttempts/],
    [{ token: '' }, /token/],
    [{ token: 'x'.repeat(257) }, /token/],
    [{ room: '' }, /room/],
    [{ reconnect: true }, /unknown option.*reconnect/],
  ];
  for (const [options, message] of cases) {
    assert.throws(() => connect('ws://127.0.0.1:1', { WebSocket: NoSocket, ...options }), (err: Error) => err instanceof TypeError && message.test(err.message), JSON.stringify(options));
  }
});

const hasGlobal = (globalThis as { WebSocket?: unknown }).WebSocket !== undefined;
test('without a WebSocket to use (Node 20 has no global one), the core says where to find one', { skip: hasGlobal && 'this Node has a global WebSocket' }, () => {
  assert.throws(() => connect('ws://127.0.0.1:1'), /no WebSocket here.*stateroom\/client/);
});

test('the defaults are one frozen object', () => {
  assert.ok(Object.isFrozen(DEFAULT_CLIENT_OPTIONS));
  assert.deepEqual(DEFAULT_CLIENT_OPTIONS.stopCodes, [1000, 1002, 1003, 1007, 1008, 1009, 1010, 4001]);
});
