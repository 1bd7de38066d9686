// tsx compiles a .ts service with esbuild, which answers from a service process that would
// stay alive (~12 MiB) as long as the server. Once `stateroom serve x.ts` listens, no esbuild
// process of it is left: not in one process, not with --workers, not for a CommonJS .ts.
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test, type TestContext } from 'node:test';
import { ROOT, startServing } from './helpers/cli.js';
import { until } from './helpers/deadline.js';
import { client } from './helpers/sockets.js';

/** `pid` and its descendants, through /proc/<pid>/task/<tid>/children. */
function tree(pid: number): number[] {
  let tasks: string[] = [];
  try {
    tasks = readdirSync(`/proc/${pid}/task`);
  } catch {
    return [];
  }
  const children = tasks.flatMap((tid) => {
    try {
      return readFileSync(`/proc/${pid}/task/${tid}/children`, 'utf8').split(/\s+/).filter(Boolean).map(Number);
    } catch {
      return [];
    }
  });
  return [pid, ...children.flatMap(tree)];
}

/** The live (not zombie) esbuild processes among `pid`'s descendants. */
function esbuildsUnder(pid: number): number[] {
  return tree(pid)
    .slice(1)
    .filter((each) => {
      try {
        const status = readFileSync(`/proc/${each}/status`, 'utf8');
        return /^Name:\s*esbuild$/m.test(status) && !/^State:\s*Z/m.test(status);
      } catch {
        return false; // gone meanwhile
      }
    });
}

/**
 * A service no earlier run has compiled (tsx caches transforms on disk by content, and a
 * cached one starts no esbuild): its reply carries a fresh nonce.
 */
async function freshService(t: TestContext, packageJson: string): Promise<{ file: string; nonce: string }> {
  const dir = await mkdtemp(path.join(tmpdir(), 'stateroom-esbuild-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  await writeFile(path.join(dir, 'package.json'), packageJson);
  const nonce = `${process.pid}-${Date.now()}-${Math.random()}`;
  const file = path.join(dir, 'service.ts');
  await writeFile(
    file,
    `import type { ClientId, Context, Payload } from 'stateroom';\n` +
      `const NONCE: string = ${JSON.stringify(nonce)};\n` +
      `export default class Echo {\n` +
      `  message(client: ClientId, payload: Payload, ctx: Context): void { ctx.sendMessage(client, \`\${String(payload)} \${NONCE}\`); }\n` +
      `}\n`,
  );
  return { file, nonce };
}

async function servedWithoutEsbuild(t: TestContext, packageJson: string, workers: string): Promise<void> {
  const { file, nonce } = await freshService(t, packageJson);
  const server = await startServing(['serve', file, '--port', '0', '--host', '127.0.0.1', '--workers', workers], t.after.bind(t));
  // It serves the service it compiled…
  const c = await client(server.ws('/ws/r'));
  t.after(() => c.ws.terminate());
  c.ws.send('hi');
  assert.equal(await c.nextText(), `hi ${nonce}`);
  // …and no esbuild is left (a stopped one may take a moment to exit).
  await until(() => esbuildsUnder(server.child.pid!).length === 0, `no esbuild process under the server (found ${esbuildsUnder(server.child.pid!).join(', ')})`, 5_000, 50);
}

test('stateroom serve x.ts, once listening, has no esbuild child process', async (t) => {
  await servedWithoutEsbuild(t, '{ "type": "module" }\n', '1');
});

test('nor for a .ts service Node runs as CommonJS (tsx require hook)', async (t) => {
  await servedWithoutEsbuild(t, '{ "name": "cjs-app", "private": true }\n', '1');
});

test('nor with --workers 2: neither the primary nor a worker keeps one', async (t) => {
  await servedWithoutEsbuild(t, '{ "type": "module" }\n', '2');
});

// The esbuild stateroom stops is the one tsx started: the same copy, which npm shares only
// while stateroom's esbuild range stays within tsx's.
test("tsx resolves the same esbuild as stateroom's dependency", () => {
  const require = createRequire(path.join(ROOT, 'src/project/typescript.ts'));
  const fromTsx = createRequire(require.resolve('tsx/package.json')).resolve('esbuild');
  assert.equal(fromTsx, require.resolve('esbuild'));
});
