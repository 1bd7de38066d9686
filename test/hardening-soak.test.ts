// The soak tells the truth with --workers (issue 12, item 11): --help answers, and every
// process of the server's tree is measured, collected and reported on its own.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import path from 'node:path';
import { test } from 'node:test';
import { ROOT, finish } from './helpers/cli.js';

const soak = (args: string[]) => spawn(process.execPath, ['--import', 'tsx', path.join(ROOT, 'scripts/soak.ts'), ...args], { cwd: ROOT });

test('soak --help prints its usage and exits 0; a bad flag exits 2 with one line, no stack', async () => {
  const help = await finish(soak(['--help']), 'soak --help');
  assert.equal(help.code, 0);
  assert.match(help.stdout, /^usage: npm run soak/);
  const bad = await finish(soak(['--bogus']), 'soak --bogus');
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /^soak: Unknown option '--bogus'/);
  assert.doesNotMatch(bad.stderr, /\n\s+at /, 'no stack trace');
});

test('a short soak with --workers 2 measures the primary and both workers, each after its own GC', async () => {
  const run = await finish(soak(['--seconds', '1', '--clients', '10', '--rooms', '4', '--workers', '2']), 'a 1 s soak', 40_000);
  assert.equal(run.code, 0, run.stderr);
  const start = /start \(after a full GC in every process\):\n((?: {2}pid .*\n)+)/.exec(run.stdout)?.[1] ?? '';
  const lines = start.trim().split('\n');
  assert.equal(lines.length, 3, `three processes measured:\n${run.stdout}`);
  for (const line of lines) assert.match(line, /RSS \d+\.\d MiB, JS heap used \d+\.\d MiB$/, 'RSS and a collected heap for each');
  assert.match(run.stdout, /^(! )? {2}primary \d+: RSS/m);
  assert.equal(run.stdout.match(/^(! )? {2}worker \d+: RSS/gm)?.length ?? 0, 2, 'a verdict line per worker');
  assert.match(run.stdout, /^(PASS|CHECK): \d+ visits; rooms left 0, clients left 0/m);
});
