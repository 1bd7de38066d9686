// detectKind: an `assembly/` folder means AssemblyScript only inside the project, never because
// the project itself sits in a folder of that name.
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { detectKind } from './kind.js';

function project(t: { after(fn: () => void): void }, ...parts: string[]): string {
  const base = mkdtempSync(path.join(tmpdir(), 'stateroom-kind-'));
  t.after(() => rmSync(base, { recursive: true, force: true }));
  const root = path.join(base, ...parts);
  mkdirSync(root, { recursive: true });
  return root;
}

test('a TypeScript service in a project that sits in a folder named assembly is native TypeScript', async (t) => {
  const root = project(t, 'assembly', 'chat');
  writeFileSync(path.join(root, 'service.ts'), 'export default class {}\n');
  const configPath = path.join(root, 'stateroom.toml');
  assert.deepEqual(await detectKind({ root, configPath }), { kind: 'module', entry: path.join(root, 'service.ts') });
  const entry = path.join(root, 'service.ts');
  assert.equal((await detectKind({ root, configPath, entry })).kind, 'module', 'an entry named in the config too');
});

test("the project's own assembly/ folder is AssemblyScript", async (t) => {
  const root = project(t, 'chat');
  mkdirSync(path.join(root, 'assembly'));
  writeFileSync(path.join(root, 'assembly', 'index.ts'), 'export function f(): void {}\n');
  assert.equal((await detectKind({ root, configPath: path.join(root, 'stateroom.toml') })).kind, 'assemblyscript');
});
