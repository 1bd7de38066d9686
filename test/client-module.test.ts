// The client for any page: every server serves the single-file browser build of
// stateroom/client at /__stateroom/client.js (with and without --static), the package exports
// the same file as stateroom/client/browser, and a real Chromium page from a --static folder
// imports it, joins a room, sends and receives.
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, test, type TestContext } from 'node:test';
import EchoServer from '../examples/echo/service.js';
import { serve, type ServerOptions } from '../src/index.js';
import { launchBrowser, type Browser } from './helpers/browser.js';
import { ROOT, startServing } from './helpers/cli.js';
import { within } from './helpers/deadline.js';
import { CHROMIUM, need } from './helpers/programs.js';
import { client } from './helpers/sockets.js';

const BUILT = path.join(ROOT, 'dist/client/browser.js');
const chromium = await need(CHROMIUM);

let browser: Promise<Browser> | undefined;
after(async () => {
  if (browser) await (await browser).close();
});

async function tempDir(t: TestContext): Promise<string> {
  const dir = await mkdtemp(path.join(tmpdir(), 'stateroom-client-module-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

async function start(t: TestContext, options: ServerOptions = {}): Promise<string> {
  const server = await serve(EchoServer, { port: 0, host: '127.0.0.1', logLevel: 'silent', ...options });
  t.after(() => server.close());
  return `http://127.0.0.1:${server.port}`;
}

const fetchWithin = (url: string, init?: RequestInit): Promise<Response> => fetch(url, { ...init, signal: AbortSignal.timeout(3_000) });

test('the build is one ES module that imports nothing, exported as stateroom/client/browser, with no source map', () => {
  const manifest = JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { exports: Record<string, { default: string; types: string }>; files: string[] };
  const entry = manifest.exports['./client/browser'];
  assert.ok(entry !== undefined, 'package.json exports ./client/browser');
  assert.equal(path.resolve(ROOT, entry.default), BUILT);
  assert.ok(existsSync(path.resolve(ROOT, entry.types)), entry.types);
  assert.ok(manifest.files.includes('dist'), 'the build is in the package');
  const text = readFileSync(BUILT, 'utf8');
  assert.doesNotMatch(text, /^\s*import[\s{*]|\bimport\s*\(|\brequire\s*\(/m, 'imports nothing');
  assert.match(text, /^export \{[^}]*\bconnect\b[^}]*\}/m, 'exports connect');
  assert.doesNotMatch(text, /sourceMappingURL/, 'no source map (none could point into the package: src/ is not shipped)');
  assert.ok(!existsSync(`${BUILT}.map`));
});

test('/__stateroom/client.js is served as JavaScript with and without --static, and a static file cannot hide it', async (t) => {
  const site = await tempDir(t);
  await mkdir(path.join(site, '__stateroom'));
  await writeFile(path.join(site, '__stateroom', 'client.js'), 'not the client\n');
  await writeFile(path.join(site, 'index.html'), '<!doctype html><title>site</title>\n');
  const built = readFileSync(BUILT);
  for (const [mode, base] of [['console (no --static)', await start(t)], ['--static', await start(t, { staticDir: site })]] as const) {
    const res = await fetchWithin(`${base}/__stateroom/client.js`);
    assert.equal(res.status, 200, mode);
    assert.match(res.headers.get('content-type') ?? '', /^text\/javascript\b/, mode);
    assert.equal(res.headers.get('access-control-allow-origin'), '*', `${mode}: a page on another origin may import it`);
    assert.ok(Buffer.from(await res.arrayBuffer()).equals(built), `${mode}: the body is dist/client/browser.js`);

    const etag = res.headers.get('etag');
    assert.ok(etag !== null, `${mode}: an etag`);
    const again = await fetchWithin(`${base}/__stateroom/client.js`, { headers: { 'if-none-match': etag } });
    assert.equal(again.status, 304, `${mode}: unchanged, asked again`);
    const head = await fetchWithin(`${base}/__stateroom/client.js`, { method: 'HEAD' });
    assert.equal(head.status, 200, `${mode}: HEAD`);
    assert.equal(head.headers.get('content-length'), String(built.length), `${mode}: HEAD's length`);
  }
});

test("docs/client.md's recipe, in a page from a --static folder, imports /__stateroom/client.js, joins a room, sends and receives (Chromium)", chromium.options, async (t) => {
  const docs = readFileSync(path.join(ROOT, 'docs/client.md'), 'utf8');
  const recipe = /```html\n([\s\S]*?)```/.exec(docs)?.[1];
  assert.ok(recipe !== undefined && recipe.includes("from '/__stateroom/client.js'"), 'docs/client.md shows the <script type="module"> recipe');
  const site = await tempDir(t);
  // The recipe as a user would paste it into a page (the icon only spares a request for /favicon.ico).
  await writeFile(path.join(site, 'index.html'), `<!doctype html>\n<title>client module</title>\n<link rel="icon" href="data:,">\n${recipe}`);
  const server = await startServing(['serve', 'examples/counter/service.ts', '--port', '0', '--host', '127.0.0.1', '--static', site], t.after.bind(t), { cwd: ROOT });
  const base = `http://127.0.0.1:${server.port}`;
  const room = /room: '([^']+)'/.exec(recipe)?.[1];
  assert.ok(room !== undefined, 'the recipe names a room');
  // Someone already in the room, from Node: it sees what the page's send did, and the page sees what it sends.
  const other = await client(server.ws(`/ws/${room}`), 'node');
  t.after(() => other.ws.terminate());

  browser ??= launchBrowser(chromium.get());
  const page = await (await browser).context.newPage();
  t.after(() => page.close());
  const logged: string[] = [];
  const problems: string[] = [];
  const waiters = new Set<() => void>();
  page.on('pageerror', (err) => problems.push(`page error: ${err.message}`));
  page.on('console', (message) => {
    if (message.type() === 'error') problems.push(`console: ${message.text()}`);
    else logged.push(message.text());
    for (const wake of waiters) wake();
  });
  /** Waits until the page has printed `text` (console.log, as the recipe does). */
  const printed = (text: string): Promise<void> => {
    let wake = (): void => {};
    const seen = new Promise<void>((resolve) => {
      wake = () => {
        if (logged.includes(text)) resolve();
      };
      waiters.add(wake);
      wake();
    });
    return within(seen, `the page to print ${JSON.stringify(text)} (printed: ${JSON.stringify(logged)}; ${problems.join('; ')})`, 8_000).finally(() => waiters.delete(wake));
  };

  const imported = page.waitForResponse(`${base}/__stateroom/client.js`);
  await page.goto(`${base}/`);
  const response = await within(imported, 'the page to import /__stateroom/client.js', 8_000);
  assert.equal(response.status(), 200);

  await printed('new value: 1');
  assert.equal(await other.nextText(), 'new value: 1', "the page's send reached the room");
  other.ws.send('increment');
  await printed('new value: 2');
  assert.deepEqual(problems, []);
});
