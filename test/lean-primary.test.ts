// The primary of `stateroom serve --workers N` only routes sockets (issue 14, item 4): it never
// loads the service — its workers do — and a service that cannot load is still one line.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test, type TestContext } from 'node:test';
import { run, startServing } from './helpers/cli.js';
import { until } from './helpers/deadline.js';
import { client } from './helpers/sockets.js';

async function folder(t: TestContext): Promise<string> {
  const dir = await mkdtemp(path.join(tmpdir(), 'stateroom-primary-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  await writeFile(path.join(dir, 'package.json'), '{ "type": "module" }\n');
  return dir;
}

test('--workers 2: each worker loads the service, the primary does not', async (t) => {
  const dir = await folder(t);
  const loads = path.join(dir, 'loads.txt');
  // Each process that evaluates the module appends its pid.
  await writeFile(
    path.join(dir, 'service.ts'),
    `import { appendFileSync } from 'node:fs';\n` +
      `import type { ClientId, Context, Payload } from 'stateroom';\n` +
      `appendFileSync(${JSON.stringify(loads)}, \`\${process.pid}\\n\`);\n` +
      `export default class Echo { message(c: ClientId, p: Payload, ctx: Context): void { ctx.sendMessage(c, \`\${String(p)} from \${process.pid}\`); } }\n`,
  );
  const server = await startServing(['serve', path.join(dir, 'service.ts'), '--port', '0', '--host', '127.0.0.1', '--workers', '2'], t.after.bind(t));
  const c = await client(server.ws('/ws/r'));
  t.after(() => c.ws.terminate());
  c.ws.send('hi');
  const answer = await c.nextText();
  const pids = (): string[] => readFileSync(loads, 'utf8').trim().split('\n');
  await until(() => pids().length === 2, 'both workers to have loaded the service');
  assert.ok(!pids().includes(String(server.child.pid)), `the primary (${server.child.pid}) did not load it: ${pids().join(', ')}`);
  assert.ok(pids().some((pid) => answer === `hi from ${pid}`), `a worker answered: ${answer}`);
});

test('--workers 2: a service that does not load is one line from the primary, exit 1', async (t) => {
  const dir = await folder(t);
  const file = path.join(dir, 'service.ts');
  await writeFile(file, 'export const notAService = 1;\n');
  for (const workers of ['1', '2']) {
    const out = await run(['serve', file, '--port', '0', '--host', '127.0.0.1', '--workers', workers]);
    assert.equal(out.code, 1, out.stderr);
    assert.equal(out.stderr.trim(), `stateroom: ${file} has no default export: write \`export default class MyService { … }\` or \`export default (roomId, ctx) => ({ … })\` [SR_ERR_SERVICE_LOAD]`, `--workers ${workers}`);
  }
});
