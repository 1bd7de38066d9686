// Option errors from the command line speak in flags and the units the user typed; serve()
// keeps its option names and milliseconds for code.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { serve } from '../src/index.js';
import { ROOT, run } from './helpers/cli.js';

const COUNTER = `${ROOT}/examples/counter/service.ts`;
const serveArgs = (...more: string[]) => ['serve', COUNTER, '--port', '0', '--host', '127.0.0.1', ...more];

test('stateroom serve: a heartbeat timeout not above the interval names both flags, in seconds', async () => {
  for (const workers of ['1', '2']) {
    const out = await run(serveArgs('--heartbeat-timeout', '30', '--heartbeat-interval', '60', '--workers', workers));
    assert.equal(out.code, 1, out.stderr);
    assert.equal(
      out.stderr.trim(),
      'stateroom: --heartbeat-timeout (30 s) must be greater than --heartbeat-interval (60 s) [SR_ERR_OPTIONS_INVALID]',
      `--workers ${workers}`,
    );
  }
});

test('stateroom serve: an out-of-range seconds flag is told in seconds, naming the flag', async () => {
  const out = await run(serveArgs('--lease-ttl', '0.5', '--workers', '1'));
  assert.equal(out.code, 1, out.stderr);
  assert.match(out.stderr, /^stateroom: --lease-ttl must be from 1 s to 600 s, not 0\.5 s \[SR_ERR_OPTIONS_INVALID\]\n$/);
});

test('serve() from code keeps its option names and milliseconds', async () => {
  await assert.rejects(
    serve(class {}, { port: 0, heartbeatTimeoutMs: 30_000, heartbeatIntervalMs: 60_000 }),
    { code: 'SR_ERR_OPTIONS_INVALID', message: 'heartbeatTimeoutMs (30000) must be greater than heartbeatIntervalMs (60000)' },
  );
});
