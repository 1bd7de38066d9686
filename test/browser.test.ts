// The room console and the client in a real browser: the machine's Chromium, headless, driven by
// playwright-core, against servers on 127.0.0.1 (in-process, or the CLI as a child process).
// Without a Chromium the tests skip, saying what to install; under CI they fail instead.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { mkdir, readFile } from 'node:fs/promises';
import { after, test, type TestContext } from 'node:test';
import type { Page } from 'playwright-core';
import ChatServer from '../examples/chat/service.js';
import SharedCounter from '../examples/counter/service.js';
import { connect } from '../src/client/node.js';
import { serve, type ServiceSource } from '../src/index.js';
import { BROWSER_DEADLINE_MS, launchBrowser, startProxy, type Browser } from './helpers/browser.js';
import { ROOT, startServing } from './helpers/cli.js';
import { within } from './helpers/deadline.js';
import { CHROMIUM, need } from './helpers/programs.js';

const SCREENSHOT = 'test-output/console.png';
const chromium = await need(CHROMIUM);

// One Chromium for the whole file (it takes a second or two to start); each test opens, and
// closes, its own pages.
let browser: Promise<Browser> | undefined;
after(async () => {
  if (browser) await (await browser).close();
});

async function newPage(t: TestContext): Promise<Page> {
  browser ??= launchBrowser(chromium.get());
  const page = await (await browser).context.newPage();
  t.after(() => page.close());
  return page;
}

async function start(t: TestContext, service: ServiceSource) {
  const server = await serve(service, { port: 0, host: '127.0.0.1', logLevel: 'silent' });
  t.after(() => server.close());
  return server;
}

interface Line {
  kind: string;
  time: string;
  text: string;
}

interface ListItem {
  readonly className: string;
  readonly textContent: string | null;
  querySelector(selector: string): { readonly textContent: string | null } | null;
}

/** The console's log, oldest first. */
function log(page: Page): Promise<Line[]> {
  // No DOM types here (the project's lib is ES only): the little of an <li> the page reads.
  return page.$$eval('#log li', (items: ListItem[]) =>
    items.map((li) => {
      const time = li.querySelector('time')?.textContent ?? '';
      return { kind: li.className, time, text: (li.textContent ?? '').slice(time.length) };
    }),
  );
}

/** Waits until `check(page)` holds, naming what it waited for (with the console's log) on timeout. */
async function until(page: Page, what: string, check: (lines: Line[], page: Page) => boolean | Promise<boolean>, ms = BROWSER_DEADLINE_MS): Promise<Line[]> {
  const deadline = Date.now() + ms;
  for (;;) {
    const lines = await log(page);
    if (await check(lines, page)) return lines;
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}; the console's log:\n${lines.map((l) => `${l.time} ${l.kind} ${l.text}`).join('\n')}`);
    // Every change the console shows comes with a log line: wake on the next one.
    await page
      .waitForFunction(`document.querySelectorAll('#log li').length !== ${lines.length}`, undefined, { timeout: Math.max(1, deadline - Date.now()) })
      .catch(() => {});
  }
}

const field = (page: Page, id: string): Promise<string> => page.locator(`#${id}`).innerText();
const has = (lines: Line[], kind: string, text: string | RegExp): boolean =>
  lines.some((l) => l.kind === kind && (typeof text === 'string' ? l.text === text : text.test(l.text)));

/** Opens the console at `base?room=<room>`, which connects at once, and waits for the connection to open. */
async function openConsole(t: TestContext, base: string, room: string): Promise<Page> {
  const page = await newPage(t);
  await page.goto(`${base}/?room=${encodeURIComponent(room)}`);
  await until(page, `the console to connect to room ${room}`, (lines) => has(lines, 'ev', 'connected: new seat'));
  return page;
}

async function say(page: Page, text: string): Promise<void> {
  await page.fill('#text', text);
  await page.press('#text', 'Enter');
}

test('the console joins two pages to one room: a message typed in one shows in the other, with a timestamp', chromium.options, async (t) => {
  const server = await start(t, ChatServer);
  const base = `http://127.0.0.1:${server.port}`;
  const alice = await openConsole(t, base, 'lobby');
  const bob = await openConsole(t, base, 'lobby');
  const elsewhere: string[] = [];
  for (const page of [alice, bob]) {
    page.on('request', (request) => {
      if (!request.url().startsWith(`${base}/`)) elsewhere.push(request.url());
    });
  }

  await say(alice, 'hello from alice');
  const lines = await until(bob, "alice's message at bob", (l) => has(l, 'in', 'client1: hello from alice'));
  assert.match(lines.find((l) => l.text === 'client1: hello from alice')!.time, /^\d\d:\d\d:\d\d\.\d{3}$/);
  assert.ok(has(await log(alice), 'out', 'hello from alice'), 'the sender sees what it sent');
  assert.equal(await alice.inputValue('#text'), '', 'Enter sent and cleared the input');

  const [tokenA, tokenB] = [await field(alice, 'token'), await field(bob, 'token')];
  assert.match(tokenA, /^[0-9a-f]{32}$/);
  assert.notEqual(tokenA, tokenB, 'each tab has its own identity');
  assert.equal(await field(bob, 'seat'), 'new seat');
  assert.equal(await field(bob, 'state'), 'open');
  assert.equal(await field(bob, 'url'), `ws://127.0.0.1:${server.port}/ws/lobby`);
  assert.deepEqual(elsewhere, [], 'nothing is fetched from anywhere but this server');

  await bob.setViewportSize({ width: 360, height: 640 });
  const overflow = await bob.evaluate('document.documentElement.scrollWidth - document.documentElement.clientWidth');
  assert.equal(overflow, 0, 'fits a phone screen without scrolling sideways');
});

test('when the server is killed and started again on its port, the page reconnects by itself with the same token', chromium.options, async (t) => {
  // One process: SIGKILL then drops the page's connection as a crash does (1006). With workers,
  // killing the primary alone lets them close their clients cleanly (1001) — not this test.
  const args = ['serve', 'examples/chat/service.ts', '--host', '127.0.0.1', '--workers', '1'];
  const onEnd = (fn: () => void): void => void t.after(fn);
  const first = await startServing([...args, '--port', '0'], onEnd);
  const page = await openConsole(t, `http://127.0.0.1:${first.port}`, 'lobby');
  const token = await field(page, 'token');

  const exited = once(first.child, 'exit');
  first.child.kill('SIGKILL'); // no close frame: the page sees the connection drop (1006)
  await within(exited, 'the server to die');
  await until(page, 'the page to notice and retry', (l) => has(l, 'ev', /^closed 1006 \(connection lost\); will reconnect$/) && has(l, 'ev', /^reconnecting: attempt 1 in \d+ ms$/));

  await startServing([...args, '--port', String(first.port)], onEnd);
  await until(page, 'the page to reconnect', (l) => has(l, 'ev', 'reconnected: new seat (the service saw this client leave and join again)'), 15_000);
  assert.equal(await field(page, 'token'), token, 'the same identity');
  assert.equal(await field(page, 'seat'), 'new seat', 'a new server process holds no seat to resume');
  await say(page, 'still here');
  await until(page, 'the restarted room to answer', (l) => has(l, 'in', 'client1: still here'));
});

test('a dropped connection in the browser resumes its seat: what was missed arrives once, and the room never saw the drop', chromium.options, async (t) => {
  const server = await start(t, ChatServer);
  const proxy = await startProxy(t, server.port);
  const page = await openConsole(t, `http://127.0.0.1:${proxy.port}`, 'lobby');
  await page.setViewportSize({ width: 760, height: 560 });
  const bob = connect(`ws://127.0.0.1:${server.port}`, { room: 'lobby' });
  t.after(() => bob.close());
  const bobHeard: string[] = [];
  const bobHears = (text: string): Promise<void> =>
    within(new Promise<void>((resolve) => {
      const check = (): void => void (bobHeard.includes(text) && resolve());
      bob.on('message', (data) => (bobHeard.push(String(data)), check()));
      check();
    }), `bob to hear "${text}"`);
  await bobHears('client2 has joined the chat');
  await say(page, 'hi bob');
  await bobHears('client1: hi bob');

  proxy.down();
  await until(page, 'the page to lose its connection', (l) => has(l, 'ev', /^closed 1006/));
  bob.send('while you were away');
  await bobHears('client2: while you were away');
  proxy.up();
  await until(page, 'the page to resume', (l) => has(l, 'ev', 'reconnected: seat resumed, missed messages follow'));
  bob.send('welcome back');
  const lines = await until(page, 'the live message after the resume', (l) => has(l, 'in', 'client2: welcome back'));
  assert.equal(lines.filter((l) => l.text === 'client2: while you were away').length, 1, 'the missed message, once');
  assert.equal(await field(page, 'seat'), 'resumed');
  assert.ok(!bobHeard.some((m) => m.includes('left the chat')), 'the room saw no disconnect');

  await mkdir('test-output', { recursive: true });
  await page.screenshot({ path: SCREENSHOT });
});

test("the README's browser-console snippet prints new value: 1 against the counter example", chromium.options, async (t) => {
  const server = await start(t, SharedCounter);
  const readme = await readFile(`${ROOT}/README.md`, 'utf8');
  const snippet = /```js\n([\s\S]*?)```/.exec(readme)?.[1]?.replaceAll('8080', String(server.port));
  assert.ok(snippet, 'the README has a js snippet');
  assert.doesNotMatch(snippet, /^ws\.send\(/m, 'no send before the socket is open');
  const page = await newPage(t);
  await page.goto(`http://localhost:${server.port}/`);
  const errors: string[] = [];
  page.on('pageerror', (err) => errors.push(err.message));
  const printed = new Promise<string>((resolve) => page.on('console', (m) => resolve(m.text())));
  // Pasted as one block into a browser console: it runs at once, before the socket opens.
  await page.addScriptTag({ content: snippet });
  assert.equal(await within(printed, 'the page to print the new value'), 'new value: 1');
  assert.deepEqual(errors, [], 'the block ran without an error');
});
