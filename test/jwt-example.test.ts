// examples/jwt, as its README runs it: the built CLI serves a module that exports `authorize`,
// in one process and with --workers 2; real tokens, signed with jose, over real sockets.
import assert from 'node:assert/strict';
import { test, type TestContext } from 'node:test';
import { SignJWT } from 'jose';
import { workerOf } from '../src/cluster/affinity.js';
import { ROOT, run, startServing } from './helpers/cli.js';
import { client, refusal } from './helpers/sockets.js';

const SERVICE = `${ROOT}/examples/jwt/service.ts`;
const SECRET = 'a-test-secret-of-at-least-32-bytes-long';
const env = { ...process.env, JWT_SECRET: SECRET };

/** A token for `sub`, HS256 with `secret`, expiring `expiresIn` seconds from now (negative: expired). */
function token(sub: string, { secret = SECRET, expiresIn = 3600 } = {}): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  return new SignJWT().setProtectedHeader({ alg: 'HS256' }).setSubject(sub).setIssuedAt(now - 120).setExpirationTime(now + expiresIn).sign(new TextEncoder().encode(secret));
}

/** An unsigned token (`alg: none`), which a verifier that trusted the header would take. */
function unsigned(sub: string): string {
  const part = (value: object): string => Buffer.from(JSON.stringify(value)).toString('base64url');
  return `${part({ alg: 'none', typ: 'JWT' })}.${part({ sub, exp: Math.floor(Date.now() / 1000) + 3600 })}.`;
}

async function serveJwt(t: TestContext, workers: number) {
  const server = await startServing(['serve', SERVICE, '--port', '0', '--host', '127.0.0.1', '--workers', String(workers)], t.after.bind(t), { env });
  const url = (room: string, accessToken?: string): string => server.ws(`/ws/${room}${accessToken === undefined ? '' : `?access_token=${accessToken}`}`);
  return { server, url };
}

/** A valid token connects and is greeted by its subject; the room tells the others. */
async function greets(t: TestContext, url: (room: string, token?: string) => string, room: string): Promise<void> {
  const alice = await client(url(room, await token('alice')), 'alice');
  t.after(() => alice.ws.terminate());
  assert.equal(await alice.nextText(), 'hello, alice');
  const bob = await client(url(room, await token('bob')), 'bob');
  t.after(() => bob.ws.terminate());
  assert.equal(await bob.nextText(), 'hello, bob');
  assert.equal(await alice.nextText(), 'bob joined');
}

/** Every way a token can be wrong is a 401 with its reason, before the room. */
async function refuses(url: (room: string, token?: string) => string, room: string): Promise<void> {
  assert.equal(await refusal(url(room)), '401 connect with ?access_token=<JWT>');
  assert.equal(await refusal(url(room, await token('mallory', { secret: 'another-secret-of-at-least-32-bytes-long' }))), '401 the token is not valid');
  assert.equal(await refusal(url(room, await token('alice', { expiresIn: -60 }))), '401 the token has expired');
  assert.equal(await refusal(url(room, unsigned('alice'))), '401 the token is not valid');
  assert.equal(await refusal(url(room, 'not-a-jwt')), '401 the token is not valid');
}

test('examples/jwt under `stateroom serve`: a valid token is greeted by its subject, a bad or expired one gets 401', { timeout: 30_000 }, async (t) => {
  const { url } = await serveJwt(t, 1);
  await greets(t, url, 'lobby');
  await refuses(url, 'lobby');
});

test('examples/jwt under `stateroom serve --workers 2`: every worker admits through the exported authorize', { timeout: 30_000 }, async (t) => {
  const { server, url } = await serveJwt(t, 2);
  // One room on each worker: the primary only routes, each worker runs the module's authorize.
  const rooms = ['a', 'b', 'c', 'd', 'e', 'f'];
  const onWorker = [0, 1].map((w) => rooms.find((room) => workerOf(room, 2) === w)!);
  for (const room of onWorker) {
    await greets(t, url, room);
    await refuses(url, room);
  }
  assert.match(server.output(), /with 2 workers/);
});

test('examples/jwt without JWT_SECRET: one line naming the file and the variable, exit 1', { timeout: 30_000 }, async () => {
  const { JWT_SECRET: _, ...without } = env;
  const out = await run(['serve', SERVICE, '--port', '0', '--workers', '1'], { env: without });
  assert.equal(out.code, 1, out.stderr);
  assert.match(out.stderr, /^stateroom: .*examples\/jwt\/service\.ts could not be loaded: .*set JWT_SECRET to a secret of at least 32 bytes/);
  assert.equal(out.stderr.trim().split('\n').length, 1, out.stderr);
});
