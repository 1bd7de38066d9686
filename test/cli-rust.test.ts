// Rust crates through the CLI, with the machine's real cargo: `stateroom build` and
// `stateroom dev` on test/fixtures/rust-crate (upstream's shared counter, std only, so it
// builds offline), upstream's stateroom.toml keys, and the one-line answers when cargo or
// the WASI std is missing or the folder's kind is contradictory.
//
// cargo must run Debian's (or any) rustc that has the WASI std: WASI_CARGO finds such a pair
// and the children get its PATH and RUSTC (rustup's cargo, first on PATH here, has none).
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { chmod, cp, mkdir, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { before, test, type TestContext } from 'node:test';
import { BIN, ROOT, finish, run, startServing } from './helpers/cli.js';
import { need, onPath, WASI_CARGO } from './helpers/programs.js';
import { client, closed } from './helpers/sockets.js';

const FIXTURE = path.join(ROOT, 'test/fixtures/rust-crate');
/** A no-dependency crate builds in about a second; a cold machine may take longer. */
const BUILD_MS = 30_000;

const cargo = await need(WASI_CARGO);

before(() => {
  // Every `stateroom` child of this file inherits it: cargo's folder first on PATH, and RUSTC.
  if (cargo.value !== undefined) Object.assign(process.env, cargo.value.env());
});

/** A copy of the fixture crate in a temp folder, as a user's crate would be (no target/). */
async function copyCrate(t: TestContext): Promise<string> {
  const dir = await mkdtemp(path.join(tmpdir(), 'stateroom-crate-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  await cp(FIXTURE, dir, { recursive: true, filter: (source) => !['target', 'dist', 'client-pkg'].includes(path.basename(source)) });
  return dir;
}

/** Runs `stateroom <args>` with exactly `env`. */
function runWith(args: string[], env: NodeJS.ProcessEnv, ms = BUILD_MS) {
  return finish(spawn(process.execPath, [BIN, ...args], { cwd: ROOT, env }), `stateroom ${args.join(' ')}`, ms);
}

const oneLine = (text: string): string => {
  const lines = text.trim().split('\n');
  assert.equal(lines.length, 1, `one line, got:\n${text}`);
  return lines[0]!;
};

test('stateroom build writes dist/server.wasm and dist/static/ from a crate, and serve runs it', cargo.options, async (t) => {
  const { target } = cargo.get();
  const dir = await copyCrate(t);
  const built = await run(['build', dir], { ms: BUILD_MS });
  assert.equal(built.code, 0, built.stderr);
  assert.match(built.stdout, new RegExp(`with cargo [\\d.]+ with rustc [\\d.]+ for ${target} …`), 'it says which cargo, rustc and target');
  assert.match(built.stdout, /built .*dist\/server\.wasm \(\d+\.\d KiB\) and .*dist\/static\/ \(0 static files\)/);
  assert.deepEqual((await readdir(path.join(dir, 'dist'))).sort(), ['server.wasm', 'static']);

  const server = await startServing(['serve', path.join(dir, 'dist'), '--port', '0', '--host', '127.0.0.1'], t.after.bind(t));
  const [a, b] = await Promise.all([client(server.ws(), 'a'), client(server.ws(), 'b')]);
  t.after(() => [a, b].forEach((c) => c.ws.terminate()));
  a.ws.send('increment');
  assert.deepEqual(await Promise.all([a.nextText(), b.nextText()]), ['new value: 1', 'new value: 1']);
});

test("stateroom dev in a crate: upstream's stateroom.toml, a reload on change, cargo's diagnostics and the last good build kept", cargo.options, async (t) => {
  cargo.get();
  const dir = await copyCrate(t);
  await mkdir(path.join(dir, 'static'));
  await writeFile(path.join(dir, 'static', 'index.html'), '<p>crate</p>');
  await writeFile(path.join(dir, 'stateroom.toml'), 'service_id = "abc"\nstatic_files = "static"\n\n[service]\npackage = "shared-counter"\n');
  // Run in the crate, as the tutorial does: `stateroom dev` with no folder given.
  const server = await startServing(['dev', '0', '--host', '127.0.0.1'], t.after.bind(t), { cwd: dir });
  assert.match(server.output(), /service_id is one of upstream's keys this tool does not use; ignored/);
  const status = await fetch(`http://127.0.0.1:${server.port}/status`, { signal: AbortSignal.timeout(3_000) });
  assert.equal(await status.text(), 'ok');
  const page = await fetch(`http://127.0.0.1:${server.port}/`, { signal: AbortSignal.timeout(3_000) });
  assert.equal(await page.text(), '<p>crate</p>');
  const a = await client(server.ws(), 'a');
  t.after(() => a.ws.terminate());
  a.ws.send('increment');
  assert.equal(await a.nextText(), 'new value: 1');
  await server.printed(/watching src, Cargo\.toml for changes/, 'the watcher ready');

  const source = path.join(dir, 'src', 'lib.rs');
  const original = await readFile(source, 'utf8');
  const reloaded = closed(a.ws, BUILD_MS);
  await writeFile(source, original.replace('"new value: {}"', '"now: {}"'));
  assert.equal((await reloaded).code, 1012);
  await server.printed(/rebuilt in .*; reloaded/, 'the reload line');
  const b = await client(server.ws(), 'b');
  t.after(() => b.ws.terminate());
  b.ws.send('increment');
  assert.equal(await b.nextText(), 'now: 1', 'the next connection runs the new build in a fresh room');

  await writeFile(source, original.replace('"new value: {}"', '"now: {}"').replace('self.0 += 1', 'self.0 += "one"'));
  await server.printed(/build failed; still serving the last good build/, 'the failed build', BUILD_MS);
  assert.match(server.output(), /error\[E\d+\]/, "cargo's rendered diagnostic");
  assert.match(server.output(), /--> src\/lib\.rs:\d+:\d+/, 'with file, line and column');
  const c = await client(server.ws('/ws/after-failure'), 'c');
  t.after(() => c.ws.terminate());
  c.ws.send('increment');
  assert.equal(await c.nextText(), 'now: 1', 'the last good build still serves');
  assert.equal(b.ws.readyState, b.ws.OPEN, 'a failed build closes no one');
});

test('[client] package without wasm-bindgen on the PATH: one line says so, and the service runs', cargo.options, async (t) => {
  cargo.get();
  if (onPath('wasm-bindgen').length > 0) {
    t.skip('wasm-bindgen is on the PATH here');
    return;
  }
  const dir = await copyCrate(t);
  await writeFile(path.join(dir, 'stateroom.toml'), '[client]\npackage = "shared-counter"\n');
  const server = await startServing(['dev', '0', '--host', '127.0.0.1', '--dir', dir], t.after.bind(t));
  const note = server.output().split('\n').filter((line) => line.includes('[client]'));
  assert.equal(note.length, 1, server.output());
  assert.match(note[0]!, /\[client\] package = "shared-counter" is not built \(the service is\): wasm-bindgen is not on the PATH: cargo install wasm-bindgen-cli/);
  const a = await client(server.ws(), 'a');
  t.after(() => a.ws.terminate());
  a.ws.send('increment');
  assert.equal(await a.nextText(), 'new value: 1');
});

test('without cargo, build and dev say in one line how to install it, and exit 1', async (t) => {
  const dir = await copyCrate(t);
  const emptyPath = await mkdtemp(path.join(tmpdir(), 'stateroom-no-cargo-'));
  t.after(() => rm(emptyPath, { recursive: true, force: true }));
  const env = { ...process.env, PATH: emptyPath, RUSTC: '' };
  for (const args of [['build', dir], ['dev', '0', '--host', '127.0.0.1', '--dir', dir]]) {
    const result = await runWith(args, env);
    assert.equal(result.code, 1, `${args[0]}: ${result.stdout}${result.stderr}`);
    assert.match(oneLine(result.stderr), /^stateroom: no cargo on the PATH .*: apt-get install cargo \(Debian\), or install Rust with rustup .*\[SR_ERR_BUILD_FAILED\]$/);
  }
});

test('a rustc without the WASI std: one line naming the Debian or rustup step, and exit 1', cargo.options, async (t) => {
  const { rustc } = cargo.get();
  const dir = await copyCrate(t);
  // The real rustc, except that its sysroot is an empty folder: a toolchain with no WASI std.
  const bin = await mkdtemp(path.join(tmpdir(), 'stateroom-rustc-'));
  t.after(() => rm(bin, { recursive: true, force: true }));
  const wrapper = path.join(bin, 'rustc');
  await writeFile(wrapper, `#!/bin/sh\nif [ "$1" = "--print" ] && [ "$2" = "sysroot" ]; then echo "${bin}"; exit 0; fi\nexec "${rustc}" "$@"\n`);
  await chmod(wrapper, 0o755);
  const result = await runWith(['build', dir], { ...cargo.get().env(), RUSTC: wrapper });
  assert.equal(result.code, 1, result.stdout + result.stderr);
  assert.match(
    oneLine(result.stderr),
    /has no standard library for WASI \(wasm32-wasip1 or wasm32-wasi\): apt-get install rustc libstd-rust-dev-wasm32 lld \(Debian\), or rustup target add wasm32-wasip1/,
  );
});

test("a folder's kind: found from its files, forced by [service] language, a contradiction explained in one line", async (t) => {
  const dir = await copyCrate(t);
  await writeFile(path.join(dir, 'service.ts'), 'export default class Service {}\n');
  const both = await run(['build', dir]);
  assert.equal(both.code, 1);
  assert.match(oneLine(both.stderr), /has both a Cargo\.toml \(a Rust crate\) and service\.ts: say which to serve with \[service\] language = "rust", "assemblyscript" or "typescript" \[SR_ERR_CONFIG_INVALID\]$/);

  await writeFile(path.join(dir, 'stateroom.toml'), '[service]\nlanguage = "typescript"\n');
  const forced = await run(['build', dir]);
  assert.equal(forced.code, 1);
  assert.match(forced.stderr, /service\.ts is a native TypeScript service: it needs no build/, 'language = "typescript" picks service.ts');

  await writeFile(path.join(dir, 'stateroom.toml'), '[service]\nlanguage = "typescript"\npackage = "shared-counter"\n');
  const contradiction = await run(['build', dir]);
  assert.equal(contradiction.code, 1);
  assert.match(oneLine(contradiction.stderr), /\[service\] package = "shared-counter" names a Rust crate, but \[service\] language = "typescript": remove one of them/);

  const empty = await mkdtemp(path.join(tmpdir(), 'stateroom-not-a-crate-'));
  t.after(() => rm(empty, { recursive: true, force: true }));
  await writeFile(path.join(empty, 'stateroom.toml'), '[service]\nlanguage = "rust"\n');
  const noCrate = await run(['build', empty]);
  assert.equal(noCrate.code, 1);
  assert.match(oneLine(noCrate.stderr), /language = "rust" but there is no Cargo\.toml in .* or above it/);
});
