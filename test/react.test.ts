// stateroom/react in a real browser: test/react/page.ts — React, react-dom and the hooks,
// bundled here with esbuild — served from a --static folder next to a running room
// (test/react/service.ts), opened in the machine's Chromium. The page shows the connection
// open, a message round trip (typed and raw), renders without reconnecting, and closes its
// sockets on unmount; under <StrictMode> (development build: effects run twice) it still
// makes one connection.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, test, type TestContext } from 'node:test';
import { build } from 'esbuild';
import type { Page } from 'playwright-core';
import { serve } from '../src/index.js';
import { launchBrowser, type Browser } from './helpers/browser.js';
import { ROOT } from './helpers/cli.js';
import { until, within } from './helpers/deadline.js';
import { CHROMIUM, need } from './helpers/programs.js';
import { talkService, type Seen } from './react/service.js';

const chromium = await need(CHROMIUM);

let site: string;
before(async () => {
  site = await mkdtemp(path.join(tmpdir(), 'stateroom-react-'));
  await writeFile(path.join(site, 'index.html'), '<!doctype html><meta charset="utf-8"><title>stateroom/react</title><link rel="icon" href="data:,"><div id="root"></div><script type="module" src="page.js"></script>\n');
  // The development build of React: the one where <StrictMode> runs effects twice.
  await build({
    entryPoints: [path.join(ROOT, 'test/react/page.ts')],
    outfile: path.join(site, 'page.js'),
    bundle: true,
    format: 'esm',
    platform: 'browser',
    target: 'es2022',
    define: { 'process.env.NODE_ENV': '"development"' },
    logLevel: 'warning',
  });
});

let browser: Promise<Browser> | undefined;
after(async () => {
  if (browser) await (await browser).close();
  if (site) await rm(site, { recursive: true, force: true });
});

/**
 * A room server for the page's folder; `seen` lists every connect and disconnect. The resume
 * grace is far longer than any wait here: a disconnect seen after an unmount proves the client
 * closed on purpose (1000 gives the seat up at once), not that a held seat ran out.
 */
async function start(t: TestContext) {
  const seen: Seen = [];
  const waiters: Array<() => void> = [];
  const service = talkService(seen, () => waiters.splice(0).forEach((wake) => wake()));
  const server = await serve(service, { port: 0, host: '127.0.0.1', logLevel: 'silent', staticDir: site, resumeGraceMs: 60_000 });
  t.after(() => server.close());
  /** Resolves once `check(seen)` holds. */
  const saw = (check: (events: Seen) => boolean, what: string): Promise<void> =>
    within(new Promise<void>((resolve) => {
      const again = (): void => (check(seen) ? resolve() : void waiters.push(again));
      again();
    }), `the server to see ${what} (it saw: ${seen.join(', ')})`, 8_000);
  /** Resolves once no WebSocket is open on the server (a count: polled). */
  const socketsClosed = (what: string): Promise<void> => until(() => server.clientCount === 0, `${what} (${server.clientCount} open)`, 8_000);
  return { seen, saw, socketsClosed, base: `http://127.0.0.1:${server.port}` };
}

async function open(t: TestContext, url: string): Promise<Page> {
  browser ??= launchBrowser(chromium.get());
  const page = await (await browser).context.newPage();
  t.after(() => page.close());
  const problems: string[] = [];
  page.on('pageerror', (err) => problems.push(err.message));
  page.on('console', (msg) => void (msg.type() === 'error' && problems.push(msg.text())));
  t.after(() => assert.deepEqual(problems, [], 'the page logged no error'));
  await page.goto(url);
  return page;
}

const text = (page: Page, id: string): Promise<string> => page.locator(`#${id}`).innerText();
const shows = (page: Page, id: string, value: string): Promise<void> =>
  page.locator(`#${id}`).filter({ hasText: value }).waitFor().catch(async () => assert.fail(`#${id} shows "${await text(page, id)}", not "${value}"`));
const counters = (page: Page): Promise<{ renders: number; effects: number; jsonMessages: number }> => page.evaluate('globalThis.counters');

test('useJsonRoom and useRoom: status goes to open, messages go round and show, renders do not reconnect, unmount closes', chromium.options, async (t) => {
  const { seen, saw, socketsClosed, base } = await start(t);
  const page = await open(t, `${base}/?room=plain`);

  await shows(page, 'json-status', 'open');
  await shows(page, 'raw-status', 'open');
  await saw((s) => s.includes('plain connect 1') && s.includes('plain-raw connect 1'), 'both views connect');
  await shows(page, 'json-last', 'hello 1');

  await page.fill('#json-text', 'hi from react');
  await page.click('#json-send');
  await shows(page, 'json-last', 'said by 1: hi from react');
  await page.click('#raw-send');
  await shows(page, 'raw-last', 'echo: ping');

  // Renders from the parent: each gives the hooks new option objects and a new onMessage.
  const before = (await counters(page)).renders;
  for (let i = 0; i < 5; i += 1) await page.click('#rerender');
  await shows(page, 'rerender', 'rendered 5');
  const { renders, jsonMessages } = await counters(page);
  assert.equal(renders - before, 5, 'the view rendered once per click');
  assert.equal(jsonMessages, 2, 'onMessage saw each typed message once (hello, said)');
  assert.deepEqual(seen, ['plain connect 1', 'plain-raw connect 1'], 'one connection per view, whatever the renders');

  await page.click('#toggle');
  await socketsClosed('the unmounted views to close their sockets');
  await saw((s) => s.includes('plain disconnect 1') && s.includes('plain-raw disconnect 1'), 'both seats to be given up');
  assert.equal(seen.length, 4, `nothing else: ${seen.join(', ')}`);

  // Mounted again: a fresh client, a new seat.
  await page.click('#toggle');
  await shows(page, 'json-status', 'open');
  await saw((s) => s.includes('plain connect 2') && s.includes('plain-raw connect 2'), 'the views connect again');
});

test('under <StrictMode> (effects run twice) a view makes one connection, and unmount still closes it', chromium.options, async (t) => {
  const { seen, saw, socketsClosed, base } = await start(t);
  const page = await open(t, `${base}/?room=strict&strict=1`);

  await shows(page, 'json-status', 'open');
  await shows(page, 'raw-status', 'open');
  await shows(page, 'json-last', 'hello 1');
  assert.equal((await counters(page)).effects, 2, 'StrictMode ran the effects twice');
  await page.fill('#json-text', 'strict');
  await page.click('#json-send');
  await shows(page, 'json-last', 'said by 1: strict');
  await shows(page, 'raw-status', 'open');
  assert.deepEqual([...seen].sort(), ['strict connect 1', 'strict-raw connect 1'], "one connection per view: the second run of the effect kept the first run's client");

  await page.click('#toggle');
  await socketsClosed('the unmounted views to close their sockets');
  await saw((s) => s.includes('strict disconnect 1') && s.includes('strict-raw disconnect 1'), 'both seats to be given up');
  assert.equal(seen.length, 4, `nothing else: ${seen.join(', ')}`);
});

test('package.json exports stateroom/json and stateroom/react (types first), built by npm run build', async () => {
  const manifest = JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { exports: Record<string, Record<string, string>> };
  for (const [entry, names] of [['./json', ['route', 'typed', 'jsonClient']], ['./react', ['useRoom', 'useJsonRoom']]] as const) {
    const target = manifest.exports[entry];
    assert.deepEqual(Object.keys(target ?? {}), ['types', 'default'], entry);
    for (const file of Object.values(target!)) assert.ok(readFileSync(path.join(ROOT, file)).length > 0, `${entry}: ${file} is built`);
    const module = (await import(path.join(ROOT, target!.default!))) as Record<string, unknown>;
    for (const name of names) assert.equal(typeof module[name], 'function', `${entry} exports ${name}`);
  }
});
