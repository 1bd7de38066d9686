// --static and --client: content types, index.html, and nothing from outside the directory.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { mkdtemp, mkdir, rm, symlink, writeFile } from 'node:fs/promises';
import { createServer, get, type ServerResponse } from 'node:http';
import { connect, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test, type TestContext } from 'node:test';
import SharedCounter from '../examples/counter/service.js';
import { serve } from '../src/index.js';
import { staticFiles } from '../src/transport/static-files.js';
import { until, within } from './helpers/deadline.js';

async function site(t: TestContext, options: { staticDotfiles?: boolean } = {}) {
  const base = await mkdtemp(path.join(tmpdir(), 'stateroom-static-'));
  t.after(() => rm(base, { recursive: true, force: true }));
  const root = path.join(base, 'public');
  await mkdir(path.join(root, 'docs'), { recursive: true });
  await mkdir(path.join(base, 'client'));
  await writeFile(path.join(root, 'index.html'), '<h1>home</h1>');
  await writeFile(path.join(root, 'app.js'), 'console.log(1)');
  await writeFile(path.join(root, 'docs', 'index.html'), '<h1>docs</h1>');
  await writeFile(path.join(base, 'client', 'lib.js'), 'export {}');
  await writeFile(path.join(base, 'secret.txt'), 'do not serve');
  await symlink(path.join(base, 'secret.txt'), path.join(root, 'escape.txt'));
  await writeFile(path.join(root, '.env'), 'SECRET=1');
  await mkdir(path.join(root, '.git'));
  await writeFile(path.join(root, '.git', 'config'), '[core]');
  await symlink(path.join(root, '.env'), path.join(root, 'env.txt'));
  await writeFile(path.join(root, 'digits.txt'), '0123456789');
  const server = await serve(SharedCounter, {
    port: 0,
    host: '127.0.0.1',
    logLevel: 'silent',
    staticDir: root,
    clientDir: path.join(base, 'client'),
    ...options,
  });
  t.after(() => server.close());
  return server;
}

/** Sends a raw request line, so that paths reach the server exactly as written (no client normalisation). */
function rawGet(port: number, target: string, { method = 'GET', headers = '' } = {}): Promise<{ status: number; type: string; body: string; head: string }> {
  const answer = new Promise<string>((resolve, reject) => {
    let text = '';
    const sock = connect(port, '127.0.0.1', () => sock.write(`${method} ${target} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n${headers}\r\n`));
    sock.on('data', (d) => (text += d.toString()));
    sock.on('end', () => resolve(text));
    sock.on('error', reject);
  });
  return within(answer, `GET ${target}`).then((text) => {
    const [head = '', body = ''] = text.split('\r\n\r\n');
    return {
      status: Number(head.split(' ')[1]),
      type: /content-type: ([^\r]+)/i.exec(head)?.[1] ?? '',
      body,
      head,
    };
  });
}

test('files are served with their content type, and directories with their index.html', async (t) => {
  const server = await site(t);
  const home = await rawGet(server.port, '/');
  assert.deepEqual({ status: home.status, type: home.type, body: home.body }, { status: 200, type: 'text/html; charset=utf-8', body: '<h1>home</h1>' });
  assert.equal((await rawGet(server.port, '/docs/')).body, '<h1>docs</h1>');
  assert.equal((await rawGet(server.port, '/app.js')).type, 'text/javascript; charset=utf-8');
  assert.equal((await rawGet(server.port, '/client/lib.js')).body, 'export {}');
  assert.equal((await rawGet(server.port, '/missing.png')).status, 404);
  assert.equal((await rawGet(server.port, '/status')).body, 'ok', '/status still answers');
});

test('no path reaches outside the directory: dot-dot, encoded variants, NUL, or a symlink out', async (t) => {
  const server = await site(t);
  for (const target of [
    '/../secret.txt',
    '/%2e%2e/secret.txt',
    '/%2E%2E%2Fsecret.txt',
    '/docs/..%2f..%2fsecret.txt',
    '/..%5csecret.txt',
    '/index.html%00.txt',
    '/escape.txt',
    '/client/../../secret.txt',
    '/client/%2e%2e/secret.txt',
  ]) {
    const answer = await rawGet(server.port, target);
    assert.notEqual(answer.status, 200, `${target} must not be served`);
    assert.doesNotMatch(answer.body, /do not serve/, target);
  }
});

test('dotfiles and dot-directories answer 404 unless staticDotfiles is set; a symlink to one too', async (t) => {
  const server = await site(t);
  for (const target of ['/.env', '/.git/config', '/%2eenv', '/docs/../.env', '/env.txt', '/.git/']) {
    const answer = await rawGet(server.port, target);
    assert.equal(answer.status, 404, `${target} refused`);
    assert.doesNotMatch(answer.body, /SECRET|core/, target);
  }
  const open = await site(t, { staticDotfiles: true });
  assert.equal((await rawGet(open.port, '/.env')).body, 'SECRET=1');
  assert.equal((await rawGet(open.port, '/.git/config')).body, '[core]');
});

test('a file named with a trailing slash is not that file', async (t) => {
  const server = await site(t);
  assert.equal((await rawGet(server.port, '/index.html/')).status, 404);
  assert.equal((await rawGet(server.port, '/app.js/')).status, 404);
  assert.equal((await rawGet(server.port, '/app.js')).status, 200);
});

test('Range: one byte range is answered 206 with its Content-Range; past the end 416; several ranges get the whole file', async (t) => {
  const server = await site(t);
  const get = (range: string) => rawGet(server.port, '/digits.txt', { headers: `Range: ${range}\r\n` });
  const middle = await get('bytes=2-5');
  assert.equal(middle.status, 206);
  assert.equal(middle.body, '2345');
  assert.match(middle.head, /content-range: bytes 2-5\/10/i);
  assert.equal((await get('bytes=7-')).body, '789');
  assert.equal((await get('bytes=-3')).body, '789');
  assert.equal((await get('bytes=8-100')).body, '89');
  const past = await get('bytes=10-');
  assert.equal(past.status, 416);
  assert.match(past.head, /content-range: bytes \*\/10/i);
  const several = await get('bytes=0-1,4-5');
  assert.equal(several.status, 200);
  assert.equal(several.body, '0123456789');
  assert.match((await rawGet(server.port, '/digits.txt')).head, /accept-ranges: bytes/i);
});

test('methods other than GET and HEAD get 405 with Allow, on every plain route', async (t) => {
  const server = await site(t);
  for (const [method, target] of [['POST', '/app.js'], ['PUT', '/index.html'], ['DELETE', '/status'], ['POST', '/metrics'], ['OPTIONS', '/']] as const) {
    const answer = await rawGet(server.port, target, { method, headers: 'Content-Length: 0\r\n' });
    assert.equal(answer.status, 405, `${method} ${target}`);
    assert.match(answer.head, /allow: GET, HEAD/i);
  }
  const head = await rawGet(server.port, '/app.js', { method: 'HEAD' });
  assert.equal(head.status, 200);
  assert.equal(head.body, '');
});

test('a client that asks for a large file and never reads it is cut once the download stalls; one that reads gets it all', async (t) => {
  const dir = await mkdtemp(path.join(tmpdir(), 'stateroom-stall-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const SIZE = 8 * 1024 * 1024; // more than the socket buffers hold
  await writeFile(path.join(dir, 'big.bin'), Buffer.alloc(SIZE, 7));
  const handler = await staticFiles(dir, { stalledMs: 300 });
  const responses: ServerResponse[] = [];
  const server = createServer((req, res) => {
    responses.push(res);
    void handler(req, res, 'big.bin');
  });
  t.after(() => server.closeAllConnections());
  t.after(() => server.close());
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const stalled = connect(port, '127.0.0.1');
  t.after(() => stalled.destroy());
  stalled.on('error', () => {});
  stalled.pause(); // never reads
  stalled.write('GET /big.bin HTTP/1.1\r\nHost: x\r\n\r\n');
  await until(() => responses.length === 1, 'the request');
  await within(once(responses[0]!, 'close'), 'the server to cut a download that made no progress', 5_000);
  assert.equal(responses[0]!.writableFinished, false, 'cut, not finished');
  // A client that reads gets every byte: the timer counts only a download that stands still.
  const got = await within(
    new Promise<number>((resolve, reject) => {
      get({ host: '127.0.0.1', port, path: '/big.bin' }, (res) => {
        let bytes = 0;
        res.on('data', (chunk: Buffer) => (bytes += chunk.length));
        res.on('end', () => resolve(bytes));
        res.on('error', reject);
      }).on('error', reject);
    }),
    'the whole download',
    10_000,
  );
  assert.equal(got, SIZE);
});
