// --static and --client: content types, index.html, and nothing from outside the directory.
import assert from 'node:assert/strict';
import { mkdtemp, mkdir, rm, symlink, writeFile } from 'node:fs/promises';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test, type TestContext } from 'node:test';
import SharedCounter from '../examples/counter/service.js';
import { serve } from '../src/index.js';
import { within } from './helpers/deadline.js';

async function site(t: TestContext) {
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
  const server = await serve(SharedCounter, {
    port: 0,
    host: '127.0.0.1',
    logLevel: 'silent',
    staticDir: root,
    clientDir: path.join(base, 'client'),
  });
  t.after(() => server.close());
  return server;
}

/** Sends a raw request line, so that paths reach the server exactly as written (no client normalisation). */
function rawGet(port: number, target: string): Promise<{ status: number; type: string; body: string }> {
  const answer = new Promise<string>((resolve, reject) => {
    let text = '';
    const sock = connect(port, '127.0.0.1', () => sock.write(`GET ${target} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`));
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
    };
  });
}

test('files are served with their content type, and directories with their index.html', async (t) => {
  const server = await site(t);
  assert.deepEqual(await rawGet(server.port, '/'), { status: 200, type: 'text/html; charset=utf-8', body: '<h1>home</h1>' });
  assert.deepEqual(await rawGet(server.port, '/docs/'), { status: 200, type: 'text/html; charset=utf-8', body: '<h1>docs</h1>' });
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
