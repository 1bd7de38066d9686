// `npm ci && npm test` passes on a machine with only Node and npm: a test that needs a program
// the machine lacks skips, naming what to install, and the run says why it skipped. Under CI
// the same missing program fails the run instead. The programs are hidden with
// STATEROOM_TEST_HIDE, which makes their finders (test/helpers/programs.ts) find nothing.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { chmod, mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { test, type TestContext } from 'node:test';
import { ROOT } from './helpers/cli.js';
import { within } from './helpers/deadline.js';
import { CHROMIUM, chromiumCandidates, executable, need, WASI_RUSTC, type Requirement } from './helpers/programs.js';

const RUN_DEADLINE_MS = 90_000;
const chromiumSkip = `needs ${CHROMIUM.what} — ${CHROMIUM.install}`;
const rustcSkip = `needs ${WASI_RUSTC.what} — ${WASI_RUSTC.install}`;

/** Runs scripts/run-tests.mjs on the browser and Rust guest tests with Chromium and rustc hidden. */
async function bareRun(ci: boolean): Promise<{ code: number | null; out: string }> {
  const env: NodeJS.ProcessEnv = { ...process.env, STATEROOM_TEST_HIDE: 'chromium,rustc' };
  // Set by the node:test that runs this file; a child `node --test` that inherits it reports to us, not to its stdout.
  delete env.NODE_TEST_CONTEXT;
  delete env.CI;
  if (ci) env.CI = 'true';
  // Its own process group, so a timeout ends the runner's node:test child too.
  const child = spawn(process.execPath, ['scripts/run-tests.mjs', 'test/browser.test.ts', 'test/rust-guest.test.ts'], {
    cwd: ROOT,
    env,
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => (out += chunk));
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (out += chunk));
  const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
  try {
    return { code: await within(exited, `the bare-machine run (CI ${ci ? 'set' : 'unset'})`, RUN_DEADLINE_MS), out };
  } catch (error) {
    try {
      process.kill(-child.pid!, 'SIGKILL');
    } catch {
      // Gone already.
    }
    throw new Error(`${String(error)}; its output so far:\n${out}`);
  }
}

const count = (text: string, needle: string): number => text.split(needle).length - 1;

test('without Chromium and rustc, the browser tests skip naming what to install, the Rust tests run the committed guest, and the run passes', async () => {
  const { code, out } = await bareRun(false);
  assert.equal(code, 0, out);
  assert.equal(count(out, `# ${chromiumSkip}\n`), 4, `the four browser tests skip with the one line:\n${out}`);
  assert.equal(count(out, `# ${rustcSkip}\n`), 1, `the Rust build test skips with the one line:\n${out}`);
  assert.match(out, /^# no rustc with the wasm32-wasi std here: the Rust guest tests run the committed test\/fixtures\/rust\/guest\.wasm$/m);
  assert.match(out, /^ℹ pass 9$/m, 'the Rust guest tests ran and passed');
  assert.match(out, /^ℹ fail 0$/m);
  const summary = `5 skipped: needs ${CHROMIUM.what} (4) — ${CHROMIUM.install}; needs ${WASI_RUSTC.what} (1) — ${WASI_RUSTC.install}`;
  assert.ok(out.trimEnd().endsWith(`\n${summary}`), `the run ends with ${JSON.stringify(summary)}:\n${out}`);
});

test('with CI set, the same run fails, naming Chromium and rustc, and skips nothing', async () => {
  const { code, out } = await bareRun(true);
  assert.notEqual(code, 0, out);
  assert.match(out, /^ℹ fail 5$/m, out);
  assert.match(out, /^ℹ skipped 0$/m);
  assert.ok(out.includes(`missing ${CHROMIUM.what} (under CI a test does not skip for it: .ci/run installs it) — ${CHROMIUM.install}`), out);
  assert.ok(out.includes(`missing ${WASI_RUSTC.what} (under CI a test does not skip for it: .ci/run installs it) — ${WASI_RUSTC.install}`), out);
  assert.ok(out.trimEnd().endsWith('\n0 skipped'), out);
});

// ---- the finders, in-process --------------------------------------------------------------

const thing = (found: string | undefined): Requirement<string> & { calls: number } => ({
  id: 'thing',
  what: 'Thing',
  install: 'apt-get install thing',
  calls: 0,
  find() {
    this.calls += 1;
    return found;
  },
});

test('need(): found, it runs; missing, it skips with one line, or under CI runs and fails; hidden, it is missing without looking', async () => {
  const found = await need(thing('/opt/thing'), {});
  assert.deepEqual(found.options, {});
  assert.equal(found.get(), '/opt/thing');
  const missing = await need(thing(undefined), {});
  assert.deepEqual(missing.options, { skip: 'needs Thing — apt-get install thing' });
  assert.throws(() => missing.get(), { message: 'missing Thing — apt-get install thing' });
  const inCi = await need(thing(undefined), { CI: 'true' });
  assert.deepEqual(inCi.options, {}, 'under CI nothing skips');
  assert.throws(() => inCi.get(), /^Error: missing Thing \(under CI .*\) — apt-get install thing$/);
  assert.deepEqual((await need(thing(undefined), { CI: 'false' })).options, { skip: 'needs Thing — apt-get install thing' });
  const there = thing('/opt/thing');
  const hidden = await need(there, { STATEROOM_TEST_HIDE: 'other, thing' });
  assert.equal(hidden.value, undefined);
  assert.equal(there.calls, 0);
});

async function scratch(t: TestContext): Promise<string> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'stateroom-programs-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

async function script(file: string, body: string): Promise<string> {
  await mkdir(path.dirname(file), { recursive: true });
  await writeFile(file, `#!/bin/sh\n${body}\n`);
  await chmod(file, 0o755);
  return file;
}

/** Sets process.env[name] for the rest of test `t`. */
function setEnv(t: TestContext, name: string, value: string): void {
  const before = process.env[name];
  process.env[name] = value;
  t.after(() => {
    if (before === undefined) delete process.env[name];
    else process.env[name] = before;
  });
}

test('executable(): on PATH or at a given path, and only if it may be executed', async (t) => {
  const dir = await scratch(t);
  const prog = await script(path.join(dir, 'stateroom-fake-prog'), 'exit 0');
  await writeFile(path.join(dir, 'not-executable'), '');
  assert.equal(await executable('stateroom-fake-prog', 'x', [prog]).find(), prog);
  assert.equal(await executable('stateroom-fake-prog', 'x', [path.join(dir, 'not-executable')]).find(), undefined);
  setEnv(t, 'PATH', `${dir}${path.delimiter}${process.env.PATH ?? ''}`);
  assert.equal(await executable('stateroom-fake-prog', 'x').find(), prog);
});

test("Chromium: CHROME_PATH when set (and nothing else), and Playwright's cache, newest first", async (t) => {
  const dir = await scratch(t);
  const older = await script(path.join(dir, 'chromium-1100/chrome-linux/chrome'), 'exit 0');
  const newer = await script(path.join(dir, 'chromium-1200/chrome-linux/chrome'), 'exit 0');
  const candidates = chromiumCandidates({ ...process.env, PLAYWRIGHT_BROWSERS_PATH: dir });
  assert.ok(candidates.includes(older) && candidates.indexOf(newer) < candidates.indexOf(older), candidates.join('\n'));
  setEnv(t, 'CHROME_PATH', newer);
  assert.equal(await CHROMIUM.find(), newer);
  setEnv(t, 'CHROME_PATH', path.join(dir, 'nowhere'));
  assert.equal(await CHROMIUM.find(), undefined, 'a CHROME_PATH that is not there is not passed over for another browser');
});

test("rustc: $RUSTC first, with the WASI target its sysroot has (rustup's wasm32-wasip1, Debian's wasm32-wasi) and a rust-lld", async (t) => {
  const dir = await scratch(t);
  // No rust-lld on PATH (Debian's /usr/bin/rust-lld would do for any rustc): only the sysroot's counts.
  await mkdir(path.join(dir, 'empty'));
  setEnv(t, 'PATH', path.join(dir, 'empty'));
  for (const [name, target] of [
    ['rustup', 'wasm32-wasip1'],
    ['debian', 'wasm32-wasi'],
  ] as const) {
    const sysroot = path.join(dir, name);
    await mkdir(path.join(sysroot, 'lib/rustlib', target, 'lib'), { recursive: true });
    await writeFile(path.join(sysroot, 'lib/rustlib', target, 'lib/libstd-0123abcd.rlib'), '');
    const lld = await script(path.join(sysroot, 'lib/rustlib/x86_64-unknown-linux-gnu/bin/rust-lld'), 'exit 0');
    const rustc = await script(path.join(sysroot, 'bin/rustc'), `case "$2" in sysroot) echo '${sysroot}';; *) echo 'rustc 9.9.9 (${name})';; esac`);
    setEnv(t, 'RUSTC', rustc);
    assert.deepEqual(await WASI_RUSTC.find(), { rustc, version: `rustc 9.9.9 (${name})`, target });
    // A rust-lld that links to an lld not installed (Debian's, without lld-14) is no linker.
    await rm(lld);
    await symlink(path.join(dir, 'no-lld'), lld);
    assert.notEqual((await WASI_RUSTC.find())?.rustc, rustc);
  }
});
