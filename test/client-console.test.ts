// The room console over plain HTTP: what `/` serves when no static directory is given.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { serve } from '../src/index.js';

async function get(base: string, path: string, method = 'GET') {
  const res = await fetch(base + path, { method, signal: AbortSignal.timeout(3_000) });
  return { status: res.status, type: res.headers.get('content-type'), csp: res.headers.get('content-security-policy'), body: await res.text() };
}

test('without a static directory, / is the console page, and it allows nothing from elsewhere', async (t) => {
  const server = await serve(() => ({}), { port: 0, host: '127.0.0.1', logLevel: 'silent' });
  t.after(() => server.close());
  const base = `http://127.0.0.1:${server.port}`;
  const page = await get(base, '/');
  assert.equal(page.status, 200);
  assert.equal(page.type, 'text/html; charset=utf-8');
  assert.match(page.body, /<title>stateroom console<\/title>/);
  assert.match(page.body, /import\('\.\/__stateroom\/client\/index\.js'\)/);
  assert.doesNotMatch(page.body, /(src|href)="(https?:)?\/\//, 'no external asset');
  assert.match(page.csp ?? '', /default-src 'none'/);
  assert.deepEqual(await get(base, '/', 'HEAD').then((r) => [r.status, r.body]), [200, '']);
  assert.equal((await get(base, '/index.html')).status, 200);
  assert.equal((await get(base, '/nothing-here')).status, 404);
});

test('the console serves the built browser client and its modules, never the Node entry', async (t) => {
  const server = await serve(() => ({}), { port: 0, host: '127.0.0.1', logLevel: 'silent' });
  t.after(() => server.close());
  const base = `http://127.0.0.1:${server.port}/__stateroom/client/`;
  const index = await get(base, 'index.js');
  assert.equal(index.status, 200, 'run npm run build first: the console serves dist/client');
  assert.equal(index.type, 'text/javascript; charset=utf-8');
  for (const imported of index.body.matchAll(/from '\.\/([\w-]+\.js)'/g)) {
    assert.equal((await get(base, imported[1]!)).status, 200, `${imported[1]} is served too`);
  }
  assert.equal((await get(base, 'node.js')).status, 404);
  assert.equal((await get(base, '..%2Fserve.js')).status, 404);
});
