// The README's walk-through, end to end, as a user follows it: in the service's folder run
// `stateroom dev`, open /status in the browser (it says ok), paste the browser snippet into
// two pages' consoles, send `increment` from one, and every client of the room prints
// `new value: 1`. Once for a Rust crate (test/fixtures/rust-crate, built by the machine's
// cargo) and once for an AssemblyScript project (examples/counter/assembly), in real Chromium.
import assert from 'node:assert/strict';
import { cp, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, test, type TestContext } from 'node:test';
import type { Page } from 'playwright-core';
import { BROWSER_DEADLINE_MS, launchBrowser, type Browser } from './helpers/browser.js';
import { ROOT, startServing } from './helpers/cli.js';
import { within } from './helpers/deadline.js';
import { CHROMIUM, need, WASI_CARGO } from './helpers/programs.js';

const chromium = await need(CHROMIUM);
const cargo = await need(WASI_CARGO);
/** A test's limit: a first build (cargo, or asc), Chromium's start and the walk-through. */
const TUTORIAL_MS = 45_000;

let browser: Promise<Browser> | undefined;
after(async () => {
  if (browser) await (await browser).close();
});

/** The README's snippet (open a socket, print what arrives, send `increment` once open), and its first two lines alone. */
async function snippet(port: number): Promise<{ listen: string; block: string }> {
  const readme = await readFile(path.join(ROOT, 'README.md'), 'utf8');
  const code = /```js\n([\s\S]*?)```/.exec(readme)?.[1];
  assert.ok(code, 'the README has a js snippet');
  const block = code.replaceAll('localhost:8080', `localhost:${port}`).trim();
  const lines = block.split('\n');
  assert.equal(lines.length, 3, 'connect, print, send once open');
  return { listen: lines.slice(0, 2).join('\n'), block };
}

/** A page that opened /status, as the tutorial says, with what its console printed. */
async function statusPage(t: TestContext, port: number): Promise<{ page: Page; printed: (text: string) => Promise<void> }> {
  browser ??= launchBrowser(chromium.get());
  const page = await (await browser).context.newPage();
  t.after(() => page.close());
  const lines: string[] = [];
  const waiters = new Set<() => void>();
  page.on('console', (message) => {
    lines.push(message.text());
    for (const wake of waiters) wake();
  });
  await page.goto(`http://localhost:${port}/status`);
  assert.equal((await page.locator('body').innerText()).trim(), 'ok', '/status says ok in the browser');
  const printed = (text: string): Promise<void> => {
    let wake = (): void => {};
    const seen = new Promise<void>((resolve) => {
      wake = () => {
        if (lines.includes(text)) resolve();
      };
      waiters.add(wake);
      wake();
    });
    return within(seen, `the page to print "${text}" (it printed: ${JSON.stringify(lines)})`, BROWSER_DEADLINE_MS).finally(() => waiters.delete(wake));
  };
  return { page, printed };
}

/** `stateroom dev` in `dir`, then the tutorial in two browser pages. */
async function followTutorial(t: TestContext, dir: string): Promise<void> {
  // In the folder, with no arguments but a free port, as a user types it; it listens once built.
  const server = await startServing(['dev', '0', '--host', '127.0.0.1'], t.after.bind(t), { cwd: dir });
  const { listen, block } = await snippet(server.port);
  const pages = [await statusPage(t, server.port), await statusPage(t, server.port)];
  // The second page only listens (its socket open first); the first pastes the whole snippet
  // as one block, which sends once its socket is open.
  await pages[1]!.page.addScriptTag({ content: listen });
  await pages[1]!.page.waitForFunction('ws.readyState === WebSocket.OPEN');
  await pages[0]!.page.addScriptTag({ content: block });
  await Promise.all(pages.map(({ printed }) => printed('new value: 1')));
}

test('the tutorial with a Rust crate: stateroom dev, /status is ok, the snippet prints "new value: 1" in every client', { ...chromium.options, ...cargo.options, timeout: TUTORIAL_MS }, async (t) => {
  chromium.get();
  const found = cargo.get();
  const dir = await mkdtemp(path.join(tmpdir(), 'stateroom-tutorial-rust-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  await cp(path.join(ROOT, 'test/fixtures/rust-crate'), dir, { recursive: true, filter: (source) => path.basename(source) !== 'target' });
  // The child runs this cargo with its rustc (rustup's, first on PATH here, may lack the WASI std).
  Object.assign(process.env, found.env());
  await followTutorial(t, dir);
});

test('the tutorial with an AssemblyScript project: stateroom dev, /status is ok, the snippet prints "new value: 1" in every client', { ...chromium.options, timeout: TUTORIAL_MS }, async (t) => {
  chromium.get();
  const dir = await mkdtemp(path.join(tmpdir(), 'stateroom-tutorial-as-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  await cp(path.join(ROOT, 'examples/counter/assembly'), path.join(dir, 'assembly'), { recursive: true });
  await followTutorial(t, dir);
});
