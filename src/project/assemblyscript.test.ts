// compileAssemblyScript and the AssemblyScript SDK: the examples compile to modules whose
// imports and exports are exactly ABI v1 (docs/wasm.md), and a small in-test host drives
// them with byte-exact events (upstream's bincode 1.x layouts) and checks the exact bytes
// they send back.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { cp, mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import ts from 'typescript';
import type { CompileResult } from './assemblyscript.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

// ---------------------------------------------------------------------------------------
// Compiling. The tests run under tsx, which rewrites every ES module that contains
// `import(`, and Binaryen (inside asc) is a 13 MB one: importing asc here would take
// about 20 s. So the compiler runs in a plain `node` child instead, on this module's
// source transpiled to JavaScript. The copy lives two levels below the package root
// (test-output/<tmp>/), where the real one lives, so that it finds the SDK the same way.

interface Job {
  readonly entry: string;
  readonly outFile: string;
}

const CHILD_SCRIPT = `
const [moduleUrl, jobs] = process.argv.slice(1);
const { compileAssemblyScript } = await import(moduleUrl);
const results = [];
for (const job of JSON.parse(jobs)) results.push(await compileAssemblyScript(job.entry, job.outFile));
process.stdout.write(JSON.stringify(results));
`;

async function compileInChild(jobs: readonly Job[]): Promise<CompileResult[]> {
  await mkdir(path.join(ROOT, 'test-output'), { recursive: true });
  const dir = await mkdtemp(path.join(ROOT, 'test-output', 'asc-'));
  try {
    const source = await readFile(path.join(ROOT, 'src/project/assemblyscript.ts'), 'utf8');
    const { outputText } = ts.transpileModule(source, {
      compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022 },
    });
    const moduleFile = path.join(dir, 'assemblyscript.mjs');
    await writeFile(moduleFile, outputText);
    const env = { ...process.env };
    delete env.NODE_OPTIONS; // no tsx in the child
    const { stdout } = await promisify(execFile)(
      process.execPath,
      ['--input-type=module', '-e', CHILD_SCRIPT, pathToFileURL(moduleFile).href, JSON.stringify(jobs)],
      { cwd: ROOT, env, maxBuffer: 16 * 1024 * 1024 },
    );
    return JSON.parse(stdout) as CompileResult[];
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

// A service exercising what the examples do not: clearTimer, bytes, Recipient.except, Payload.
const SDK_FIXTURE = `import { ClientId, Context, Payload, Recipient, Service, register } from "stateroom/assembly";

class Fixture extends Service {
  init(ctx: Context): void {
    console.log("fixture ready");
    trace("traced", 2, 1.5, 2);
    ctx.setTimer(10);
  }

  message(client: ClientId, payload: Payload, ctx: Context): void {
    if (client == 9 && payload.isText) {
      ctx.sendMessage(Recipient.broadcast(), payload); // unread: the UTF-8 as it came
      ctx.sendMessage(Recipient.broadcast(), payload.text + "!");
      ctx.sendMessage(Recipient.broadcast(), payload); // read: encoded from the string
      return;
    }
    if (payload.isBytes) {
      ctx.sendMessage(Recipient.except(client), payload); // forwards the bytes as they are
    } else if (payload.text == "clear") {
      ctx.clearTimer();
    } else if (payload.text == "set") {
      ctx.setTimer(5);
    } else if (payload.text == "clear-then-set") {
      ctx.clearTimer();
      ctx.setTimer(0);
    } else if (payload.text == "random") {
      const r = Math.random(); // seeded through WASI random_get, not env.seed
      ctx.sendMessage(Recipient.client(client), r >= 0 && r < 1 ? "random ok" : "random broken");
    } else if (payload.text.startsWith("long:")) {
      ctx.sendMessage(Recipient.broadcast(), "y".repeat(I32.parseInt(payload.text.substring(5))));
    } else if (payload.text == "bytes") {
      const bytes = new Uint8Array(3);
      bytes[0] = 1; bytes[1] = 2; bytes[2] = 255;
      ctx.sendMessage(Recipient.client(client), bytes);
    } else {
      ctx.sendMessage(Recipient.broadcast(), Payload.fromText(payload.text));
    }
  }

  timer(ctx: Context): void {
    ctx.sendMessage(Recipient.broadcast(), "tick");
  }
}

register(() => new Fixture());
`;

// A service in a project where stateroom is installed: it imports a file that only that
// project's node_modules/stateroom/assembly/ has, so compiling it proves that copy is used.
const INSTALLED = `import { ClientId, Context, Recipient, Service, register } from "stateroom/assembly";
import { MARKER } from "stateroom/assembly/marker";

class Installed extends Service {
  connect(client: ClientId, ctx: Context): void {
    ctx.sendMessage(Recipient.client(client), MARKER);
  }
}

register(() => new Installed());
`;

/** Lays out `<dir>/project`: a copy of the SDK in node_modules (plus a marker file) and a service. */
async function installedProject(dir: string): Promise<string> {
  const project = path.join(dir, 'project');
  const sdk = path.join(project, 'node_modules', 'stateroom', 'assembly');
  await cp(path.join(ROOT, 'assembly'), sdk, { recursive: true });
  await writeFile(path.join(sdk, 'marker.ts'), 'export const MARKER = "from node_modules";\n');
  await mkdir(path.join(project, 'assembly'));
  await writeFile(path.join(project, 'assembly', 'service.ts'), INSTALLED);
  return path.join(project, 'assembly', 'service.ts');
}

// A type error on line 4, column 16.
const BROKEN = `import { Service, register } from "stateroom/assembly";

class Broken extends Service {}
const x: i32 = "not a number";
register(() => new Broken());
`;

const SERVICES = ['counter', 'echo', 'clock', 'fixture', 'installed'] as const;
type ServiceName = (typeof SERVICES)[number];

let workDir = '';
const compiled = new Map<ServiceName, CompileResult>();
let broken: CompileResult | undefined;
let brokenOut = '';

// Everything is compiled once, up front, in one child process (asc loads in about 1 s).
before(async () => {
  workDir = await mkdtemp(path.join(tmpdir(), 'stateroom-asc-'));
  await writeFile(path.join(workDir, 'fixture.ts'), SDK_FIXTURE);
  await writeFile(path.join(workDir, 'broken.ts'), BROKEN);
  brokenOut = path.join(workDir, 'broken.wasm');
  await writeFile(brokenOut, 'the previous build');
  const entries: Record<ServiceName, string> = {
    counter: 'examples/counter/assembly/service.ts',
    echo: 'examples/echo/assembly/service.ts',
    clock: 'examples/clock/assembly/service.ts',
    fixture: path.join(workDir, 'fixture.ts'),
    installed: await installedProject(workDir),
  };
  const jobs = SERVICES.map((name) => ({ entry: entries[name], outFile: path.join(workDir, 'out', `${name}.wasm`) }));
  const results = await compileInChild([...jobs, { entry: path.join(workDir, 'broken.ts'), outFile: brokenOut }]);
  SERVICES.forEach((name, i) => {
    const result = results[i];
    if (result !== undefined) compiled.set(name, result);
  });
  broken = results[SERVICES.length];
});

after(() => rm(workDir, { recursive: true, force: true }));

/** The compiled module of `name`; fails the calling test with asc's diagnostics if it did not compile. */
function moduleOf(name: ServiceName): WebAssembly.Module {
  const result = compiled.get(name);
  assert.ok(result?.ok, `${name} compiles:\n${result && !result.ok ? result.diagnostics : 'no result'}`);
  assert.equal(result.outFile, path.join(workDir, 'out', `${name}.wasm`));
  return new WebAssembly.Module(readFileSync(result.outFile));
}

// ---------------------------------------------------------------------------------------
// The in-test host: the ABI's call sequence with hand-written WASI functions.

class Guest {
  /** Every message the guest sent, in order, as hex. */
  private sent: string[] = [];
  /** What the guest printed, per file descriptor. */
  readonly printed = new Map<number, string>();
  private readonly exports: {
    memory: WebAssembly.Memory;
    stateroom_malloc(size: number): number;
    stateroom_free(ptr: number, size: number): void;
    stateroom_recv(ptr: number, len: number): void;
    STATEROOM_API_VERSION: WebAssembly.Global;
    STATEROOM_API_PROTOCOL: WebAssembly.Global;
  };

  constructor(module: WebAssembly.Module) {
    const view = (): DataView => new DataView(this.exports.memory.buffer);
    const bytesAt = (ptr: number, len: number): Uint8Array =>
      new Uint8Array(this.exports.memory.buffer, ptr >>> 0, len >>> 0).slice();
    const imports = {
      env: {
        stateroom_send: (ptr: number, len: number) => {
          this.sent.push(Buffer.from(bytesAt(ptr, len)).toString('hex'));
        },
      },
      wasi_snapshot_preview1: {
        fd_write: (fd: number, iovs: number, count: number, written: number) => {
          let total = 0;
          for (let i = 0; i < count; i++) {
            const address = view().getUint32(iovs + 8 * i, true);
            const length = view().getUint32(iovs + 8 * i + 4, true);
            this.printed.set(fd, (this.printed.get(fd) ?? '') + Buffer.from(bytesAt(address, length)).toString());
            total += length;
          }
          view().setUint32(written, total, true);
          return 0;
        },
        environ_sizes_get: (count: number, size: number) => {
          view().setUint32(count, 0, true);
          view().setUint32(size, 0, true);
          return 0;
        },
        environ_get: () => 0,
        clock_time_get: (_id: number, _precision: bigint, out: number) => {
          view().setBigUint64(out, process.hrtime.bigint(), true);
          return 0;
        },
        random_get: (ptr: number, len: number) => {
          new Uint8Array(this.exports.memory.buffer, ptr, len).fill(4);
          return 0;
        },
        proc_exit: (code: number) => {
          throw new Error(`proc_exit(${code})`);
        },
      },
    };
    this.exports = new WebAssembly.Instance(module, imports).exports as unknown as Guest['exports'];
  }

  /** The i32 that a version global points at. */
  versionAt(global: 'STATEROOM_API_VERSION' | 'STATEROOM_API_PROTOCOL'): number {
    return new DataView(this.exports.memory.buffer).getUint32((this.exports[global].value as number) >>> 0, true);
  }

  malloc(size: number): number {
    return this.exports.stateroom_malloc(size) >>> 0;
  }

  free(ptr: number, size: number): void {
    this.exports.stateroom_free(ptr, size);
  }

  /** Delivers one encoded event (malloc, write, recv, free); returns what the guest sent, as hex. */
  recv(message: Uint8Array): string[] {
    const ptr = this.malloc(message.length);
    new Uint8Array(this.exports.memory.buffer, ptr, message.length).set(message);
    this.exports.stateroom_recv(ptr, message.length);
    this.free(ptr, message.length);
    return this.sent.splice(0);
  }
}

// ---------------------------------------------------------------------------------------
// Encoding, written from the ABI's byte layouts (not from the SDK's code).

const u32 = (value: number): string => Buffer.from(new Uint32Array([value]).buffer).toString('hex');
const u64 = (value: number): string => Buffer.from(new BigUint64Array([BigInt(value)]).buffer).toString('hex');
const utf8 = (text: string): string => Buffer.from(text).toString('hex');
const bin = (hex: string): Buffer => Buffer.from(hex.replace(/\s+/g, ''), 'hex');

const INIT = bin('00000000');
const TIMER = bin('04000000');
const connect = (client: number): Buffer => bin(u32(1) + u32(client));
const disconnect = (client: number): Buffer => bin(u32(2) + u32(client));
const textFrom = (client: number, text: string): Buffer =>
  bin(u32(3) + u32(client) + u32(1) + u64(Buffer.byteLength(text)) + utf8(text));
const bytesFrom = (client: number, hex: string): Buffer =>
  bin(u32(3) + u32(client) + u32(0) + u64(hex.length / 2) + hex);

/** `MessageFromProcess::Message` to everyone, as text. */
const broadcastText = (text: string): string => u32(0) + u32(0) + u32(1) + u64(Buffer.byteLength(text)) + utf8(text);
/** `MessageFromProcess::Message` to one client, as text. */
const clientText = (client: number, text: string): string =>
  u32(0) + u32(1) + u32(client) + u32(1) + u64(Buffer.byteLength(text)) + utf8(text);
/** `MessageFromProcess::SetTimer`. */
const setTimer = (ms: number): string => u32(1) + u32(ms);

test('the test encoder matches the ABI document examples', () => {
  assert.equal(connect(7).toString('hex'), '0100000007000000');
  assert.equal(textFrom(7, 'hi').toString('hex'), '030000000700000001000000' + '0200000000000000' + '6869');
  assert.equal(broadcastText('x'), '00000000' + '00000000' + '01000000' + '0100000000000000' + '78');
  assert.equal(clientText(3, 'x'), '00000000' + '01000000' + '03000000' + '01000000' + '0100000000000000' + '78');
  assert.equal(setTimer(4000), '01000000a00f0000');
});

// ---------------------------------------------------------------------------------------
// The module's shape.

const ABI_EXPORTS = [
  'STATEROOM_API_PROTOCOL:global',
  'STATEROOM_API_VERSION:global',
  'memory:memory',
  'stateroom_free:function',
  'stateroom_malloc:function',
  'stateroom_recv:function',
];
const ALLOWED_IMPORTS = new Set([
  'env.stateroom_send',
  ...['fd_write', 'proc_exit', 'clock_time_get', 'random_get', 'environ_get', 'environ_sizes_get'].map(
    (name) => `wasi_snapshot_preview1.${name}`,
  ),
]);

describe('compiled examples obey ABI v1', () => {
  for (const name of SERVICES) {
    test(`${name}: exactly the ABI exports, only allowed imports, versions 1 and 0`, () => {
      const module = moduleOf(name);
      const exported = WebAssembly.Module.exports(module).map((e) => `${e.name}:${e.kind}`);
      assert.deepEqual(exported.sort(), ABI_EXPORTS);
      const imported = WebAssembly.Module.imports(module);
      for (const i of imported) {
        assert.ok(ALLOWED_IMPORTS.has(`${i.module}.${i.name}`), `import ${i.module}.${i.name} is allowed`);
        assert.equal(i.kind, 'function');
      }
      assert.ok(imported.some((i) => i.module === 'env' && i.name === 'stateroom_send'));
      if (name === 'fixture') {
        assert.ok(imported.some((i) => i.name === 'random_get'), 'Math.random is seeded through WASI');
      }

      const guest = new Guest(module);
      assert.equal(guest.versionAt('STATEROOM_API_VERSION'), 1);
      assert.equal(guest.versionAt('STATEROOM_API_PROTOCOL'), 0);
      assert.equal(guest.malloc(0), 0, 'stateroom_malloc(0) is 0');
      guest.free(0, 0); // the upstream host's room-id dance: must do nothing
    });
  }
});

// ---------------------------------------------------------------------------------------
// Behaviour, byte for byte.

test('counter: increment and decrement broadcast the new value, anything else is ignored', () => {
  const guest = new Guest(moduleOf('counter'));
  assert.deepEqual(guest.recv(INIT), []);
  assert.deepEqual(guest.recv(connect(7)), []);
  const one = guest.recv(textFrom(7, 'increment'));
  assert.deepEqual(one, ['00000000' + '00000000' + '01000000' + '0c00000000000000' + utf8('new value: 1')]);
  assert.deepEqual(guest.recv(textFrom(7, 'increment')), [broadcastText('new value: 2')]);
  assert.deepEqual(guest.recv(textFrom(8, 'decrement')), [broadcastText('new value: 1')]);
  assert.deepEqual(guest.recv(textFrom(7, 'hello')), []);
  assert.deepEqual(guest.recv(bytesFrom(7, utf8('increment'))), [], 'binary is ignored');
  assert.deepEqual(guest.recv(TIMER), []);
  assert.deepEqual(guest.recv(disconnect(7)), []);
  for (let i = 0; i < 3; i++) guest.recv(textFrom(8, 'decrement'));
  assert.deepEqual(guest.recv(textFrom(8, 'decrement')), [broadcastText('new value: -3')]);
});

test('echo: greets the newcomer, broadcasts text (not binary), announces departures', () => {
  const guest = new Guest(moduleOf('echo'));
  assert.deepEqual(guest.recv(INIT), []);
  assert.deepEqual(guest.recv(connect(7)), [clientText(7, 'User ClientId(7) connected.')]);
  assert.deepEqual(guest.recv(textFrom(7, 'hi')), [broadcastText("User ClientId(7) sent 'hi'")]);
  assert.deepEqual(guest.recv(textFrom(7, 'héllo ✓ 🚀')), [broadcastText("User ClientId(7) sent 'héllo ✓ 🚀'")]);
  assert.deepEqual(guest.recv(bytesFrom(7, '0001ff')), []);
  assert.deepEqual(guest.recv(disconnect(7)), [broadcastText('User ClientId(7) left.')]);
  assert.deepEqual(guest.recv(connect(4294967295)), [clientText(4294967295, 'User ClientId(4294967295) connected.')]);
});

test('clock: arms 4000 ms in init, then ticks from 0 and re-arms', () => {
  const guest = new Guest(moduleOf('clock'));
  assert.deepEqual(guest.recv(INIT), ['01000000' + 'a00f0000']);
  assert.deepEqual(guest.recv(TIMER), [broadcastText('Timer @ 0'), setTimer(4000)]);
  assert.deepEqual(guest.recv(connect(1)), []);
  assert.deepEqual(guest.recv(TIMER), [broadcastText('Timer @ 1'), setTimer(4000)]);
});

test('SDK: clearTimer drops the cleared timer, setTimer after it re-arms', () => {
  const guest = new Guest(moduleOf('fixture'));
  assert.deepEqual(guest.recv(INIT), [setTimer(10)]);
  assert.equal(guest.printed.get(1), 'fixture ready\n', 'console.log prints to fd 1 through WASI');
  assert.equal(guest.printed.get(2), 'trace: traced 1.5 2.0\n', 'trace prints to fd 2 through WASI');
  assert.deepEqual(guest.recv(textFrom(1, 'clear')), [], 'clearing sends nothing: the ABI cannot cancel');
  assert.deepEqual(guest.recv(TIMER), [], 'the cleared timer fires on the host but is dropped');
  assert.deepEqual(guest.recv(textFrom(1, 'set')), [setTimer(5)]);
  assert.deepEqual(guest.recv(TIMER), [broadcastText('tick')]);
  assert.deepEqual(guest.recv(TIMER), [], 'a one-shot timer fires once');
  assert.deepEqual(guest.recv(textFrom(1, 'clear-then-set')), [setTimer(0)]);
  assert.deepEqual(guest.recv(TIMER), [broadcastText('tick')]);
});

test('SDK: bytes, Recipient.except and Payload pass through byte-exactly', () => {
  const guest = new Guest(moduleOf('fixture'));
  guest.recv(INIT);
  assert.deepEqual(guest.recv(textFrom(3, 'bytes')), [u32(0) + u32(1) + u32(3) + u32(0) + u64(3) + '0102ff']);
  assert.deepEqual(guest.recv(bytesFrom(3, 'cafe')), [u32(0) + u32(2) + u32(3) + u32(0) + u64(2) + 'cafe']);
  assert.deepEqual(guest.recv(bytesFrom(3, '')), [u32(0) + u32(2) + u32(3) + u32(0) + u64(0)]);
  assert.deepEqual(guest.recv(textFrom(3, '')), [broadcastText('')]);
  assert.deepEqual(guest.recv(textFrom(3, 'ok')), [broadcastText('ok')]);
  assert.deepEqual(guest.recv(textFrom(3, 'random')), [clientText(3, 'random ok')]);
});

test('SDK: a text Payload passed on unread goes out as the UTF-8 it came in; read, the same text', () => {
  const guest = new Guest(moduleOf('fixture'));
  guest.recv(INIT);
  // Client 9's messages are relayed before anything reads them, then read, then relayed again.
  for (const text of ['', 'plain', 'héllo ✓ 😀 — ünïcödé', '日本語', 'ß'.repeat(40_000)]) {
    assert.deepEqual(guest.recv(textFrom(9, text)), [broadcastText(text), broadcastText(`${text}!`), broadcastText(text)], `${text.slice(0, 20)}…`);
  }
  assert.deepEqual(guest.recv(bytesFrom(9, 'cafe')), [u32(0) + u32(2) + u32(9) + u32(0) + u64(2) + 'cafe'], 'bytes are not text');
});

test('SDK: messages of any length, one after another, each exact (the encoder reuses its buffer up to 64 KiB)', () => {
  const guest = new Guest(moduleOf('fixture'));
  guest.recv(INIT);
  for (const length of [3, 300, 10, 70_000, 5, 65_000, 200_000, 1, 64 * 1024 - 20, 64 * 1024 - 19, 2]) {
    assert.deepEqual(guest.recv(textFrom(3, `long:${length}`)), [broadcastText('y'.repeat(length))], `length ${length}`);
  }
});

test('stateroom/assembly resolves to the project\'s node_modules/stateroom when installed', () => {
  const guest = new Guest(moduleOf('installed'));
  guest.recv(INIT);
  assert.deepEqual(guest.recv(connect(5)), [clientText(5, 'from node_modules')]);
});

test('SDK: bytes after a complete message are ignored', () => {
  const guest = new Guest(moduleOf('echo'));
  assert.deepEqual(guest.recv(Buffer.concat([INIT, bin('ffffffff')])), []);
  assert.deepEqual(guest.recv(Buffer.concat([connect(2), bin('00')])), [clientText(2, 'User ClientId(2) connected.')]);
  assert.deepEqual(guest.recv(Buffer.concat([textFrom(2, 'a'), bin('0102')])), [broadcastText("User ClientId(2) sent 'a'")]);
});

describe('SDK: a malformed message traps, after printing why to fd 2', () => {
  const cases: [string, Buffer, RegExp][] = [
    ['unknown variant', bin('09000000'), /unknown MessageToProcess variant 9/],
    ['too short for its tag', bin('0000'), /truncated/],
    ['too short for its client', bin('01000000 0700'), /truncated/],
    ['unknown payload variant', bin(u32(3) + u32(7) + u32(2) + u64(0)), /unknown MessagePayload variant 2/],
    ['length past the end', bin(u32(3) + u32(7) + u32(1) + u64(5) + '6869'), /truncated/],
    ['a length of 2^32', bin(u32(3) + u32(7) + u32(0) + '0000000001000000'), /truncated/],
    ['invalid UTF-8', bin(u32(3) + u32(7) + u32(1) + u64(2) + 'c328'), /not valid UTF-8/],
    ['a UTF-16 surrogate in UTF-8', bin(u32(3) + u32(7) + u32(1) + u64(3) + 'eda080'), /not valid UTF-8/],
    ['an overlong encoding', bin(u32(3) + u32(7) + u32(1) + u64(2) + 'c0af'), /not valid UTF-8/],
  ];
  for (const [what, message, why] of cases) {
    test(what, () => {
      const guest = new Guest(moduleOf('echo'));
      guest.recv(INIT);
      assert.throws(() => guest.recv(message), WebAssembly.RuntimeError);
      assert.match(guest.printed.get(2) ?? '', why);
    });
  }
});

// ---------------------------------------------------------------------------------------
// Failure.

test('a compile error returns the diagnostics, names file and line, and leaves the output alone', async () => {
  assert.ok(broken !== undefined && !broken.ok, 'the broken service does not compile');
  assert.match(broken.diagnostics, /TS2322/);
  assert.match(broken.diagnostics, /broken\.ts\(4,16\)/);
  assert.equal(await readFile(brokenOut, 'utf8'), 'the previous build');
  assert.deepEqual((await readdir(workDir)).filter((f) => f.startsWith('broken.wasm.')), [], 'no temporary file is left');
});

test('a successful build reports its duration and leaves no temporary file', async () => {
  const result = compiled.get('counter');
  assert.ok(result?.ok);
  assert.ok(result.durationMs > 0 && result.durationMs < 60_000);
  assert.deepEqual(await readdir(path.join(workDir, 'out')), SERVICES.map((name) => `${name}.wasm`).sort());
});
