// Runs every *.test.ts under src/ and test/ with node:test, TypeScript loaded by tsx.
// Node 20's --test does not expand globs, so the files are listed here.
//
// The spec report goes to stdout; a TAP report of the same run goes to a temporary file, read
// afterwards for the skipped tests' reasons, so the run ends with one line saying how many were
// skipped and why (a test that needs a program the machine lacks skips naming what to install).
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

function testsUnder(dir) {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile() && e.name.endsWith('.test.ts'))
    .map((e) => path.join(e.parentPath ?? e.path, e.name));
}

/** Skip reasons in a TAP report, each with how many tests gave it. */
function skipReasons(tap) {
  const reasons = new Map();
  // `ok 3 - name # SKIP reason`: a `#` in the name is escaped as `\#`, so the first bare ` # ` is the directive.
  const line = /^\s*ok \d+ - (?:[^#\\]|\\.)*? # SKIP(?: (.*))?$/;
  for (const text of tap.split('\n')) {
    const match = line.exec(text);
    if (!match) continue;
    const reason = match[1]?.trim() || 'no reason given';
    reasons.set(reason, (reasons.get(reason) ?? 0) + 1);
  }
  return reasons;
}

/** "5 skipped: needs Chromium (4) — apt-get install chromium, …; needs rustc … (1) — …" */
function skipSummary(reasons) {
  const total = [...reasons.values()].reduce((a, b) => a + b, 0);
  if (total === 0) return '0 skipped';
  const parts = [...reasons].map(([reason, count]) => {
    const dash = reason.indexOf(' — ');
    return dash < 0 ? `${reason} (${count})` : `${reason.slice(0, dash)} (${count})${reason.slice(dash)}`;
  });
  return `${total} skipped: ${parts.join('; ')}`;
}

const only = process.argv.slice(2);
const files = only.length > 0 ? only : [...testsUnder('src'), ...testsUnder('test')].sort();
const scratch = mkdtempSync(path.join(os.tmpdir(), 'stateroom-tests-'));
const tapFile = path.join(scratch, 'report.tap');
try {
  const result = spawnSync(
    process.execPath,
    [
      '--import',
      'tsx',
      '--test',
      '--test-timeout=60000',
      '--test-reporter=spec',
      '--test-reporter-destination=stdout',
      '--test-reporter=tap',
      `--test-reporter-destination=${tapFile}`,
      ...files,
    ],
    { stdio: 'inherit' },
  );
  let tap = '';
  try {
    tap = readFileSync(tapFile, 'utf8');
  } catch {
    // No report (node:test did not start): the exit status says why.
  }
  if (tap !== '') console.log(skipSummary(skipReasons(tap)));
  process.exitCode = result.status ?? 1;
} finally {
  rmSync(scratch, { recursive: true, force: true });
}
