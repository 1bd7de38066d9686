import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DEFAULT_SERVER_OPTIONS, resolveServerOptions } from './options.js';

test('no options means the documented defaults', () => {
  const o = resolveServerOptions();
  assert.equal(o.port, 8080);
  assert.equal(o.host, '0.0.0.0');
  assert.equal(o.heartbeatIntervalMs, 30_000);
  assert.equal(o.heartbeatTimeoutMs, 120_000);
  assert.equal(o.roomIdleMs, 30_000);
  assert.ok(Object.isFrozen(o) && Object.isFrozen(DEFAULT_SERVER_OPTIONS));
});

test("the caller's options object is left as it was", () => {
  const input = { port: 0, host: undefined };
  resolveServerOptions(input);
  assert.deepEqual(input, { port: 0, host: undefined });
});

test('unknown and out-of-range options are refused, naming the option', () => {
  assert.throws(() => resolveServerOptions({ prot: 1 } as never), { code: 'SR_ERR_OPTIONS_INVALID', message: /unknown option\(s\): prot/ });
  assert.throws(() => resolveServerOptions({ port: 70_000 }), /port must be a whole number from 0 to 65535/);
  assert.throws(() => resolveServerOptions({ roomIdleMs: 1.5 }), /roomIdleMs/);
  assert.throws(() => resolveServerOptions({ logLevel: 'loud' as never }), /logLevel must be one of/);
});

test('a heartbeat timeout not longer than its interval is refused', () => {
  assert.throws(
    () => resolveServerOptions({ heartbeatIntervalMs: 1_000, heartbeatTimeoutMs: 1_000 }),
    /heartbeatTimeoutMs \(1000\) must be greater than heartbeatIntervalMs \(1000\)/,
  );
  assert.doesNotThrow(() => resolveServerOptions({ heartbeatIntervalMs: 0, heartbeatTimeoutMs: 1 }));
});

test('a store without every RoomStore method is refused at start, naming them', () => {
  const halfStore = { get: () => Promise.resolve(undefined), put: () => Promise.resolve() };
  assert.throws(() => resolveServerOptions({ store: halfStore as never }), { code: 'SR_ERR_OPTIONS_INVALID', message: /get, put, delete, list, setAside, where/ });
});
