import assert from 'node:assert/strict';
import { test } from 'node:test';
import { bindToken, canonicalJson, readVerdict, seatToken } from './authorize-verdict.js';

test('true admits, false refuses with 403, { status, reason } refuses with it (a status outside 4xx/5xx: 403)', () => {
  assert.deepEqual(readVerdict(true), { kind: 'admit' });
  assert.deepEqual(readVerdict(false), { kind: 'refuse', status: 403, reason: 'forbidden' });
  assert.deepEqual(readVerdict({ status: 401, reason: 'who are you?' }), { kind: 'refuse', status: 401, reason: 'who are you?' });
  assert.deepEqual(readVerdict({ status: 302, reason: 'elsewhere' }), { kind: 'refuse', status: 403, reason: 'elsewhere' });
});

test('{ user } admits as a string, or as a frozen JSON copy of an object', () => {
  assert.deepEqual(readVerdict({ user: 'alice' }), { kind: 'admit', user: 'alice' });
  const given = { id: 'u1', roles: ['admin'], profile: { name: 'Alice', since: new Date(0) }, skipped: () => 1 };
  const verdict = readVerdict({ user: given });
  assert.equal(verdict.kind, 'admit');
  const user = (verdict as { user: Record<string, unknown> }).user;
  assert.deepEqual(user, { id: 'u1', roles: ['admin'], profile: { name: 'Alice', since: '1970-01-01T00:00:00.000Z' } });
  assert.ok(Object.isFrozen(user) && Object.isFrozen(user.roles) && Object.isFrozen(user.profile), 'frozen all the way down');
  given.roles.push('later');
  assert.deepEqual(user.roles, ['admin'], 'a copy: the hook’s object changing later changes nothing');
  // A user object that happens to have a "why" or "status" key is still a user.
  assert.deepEqual(readVerdict({ user: { why: 'x', status: 500 } }), { kind: 'admit', user: { why: 'x', status: 500 } });
});

test('a user over 4 KiB as JSON, or one JSON cannot carry, is an invalid answer that says why', () => {
  const big = readVerdict({ user: { blob: 'x'.repeat(4096) } });
  assert.equal(big.kind, 'invalid');
  assert.match((big as { why: string }).why, /its user is 4107 bytes as JSON, over the 4096-byte limit/);
  assert.equal(readVerdict({ user: { blob: 'x'.repeat(4083) } }).kind, 'admit', '4096 bytes exactly is within');
  const cyclic: Record<string, unknown> = {};
  cyclic.self = cyclic;
  assert.match((readVerdict({ user: cyclic }) as { why: string }).why, /cannot be written as JSON/);
  assert.match((readVerdict({ user: { n: 10n } }) as { why: string }).why, /cannot be written as JSON/);
  assert.match((readVerdict({ user: 42 }) as { why: string }).why, /its user is a number; a user is a string or a JSON object/);
  assert.match((readVerdict({ user: ['a'] }) as { why: string }).why, /its user is an array/);
  assert.match((readVerdict({ user: new Date(0) }) as { why: string }).why, /its user's JSON is a string, not an object/);
  assert.match((readVerdict(undefined) as { why: string }).why, /it returned undefined; it must return true, false/);
  assert.match((readVerdict({ ok: true }) as { why: string }).why, /neither user nor status/);
});

test('a token is bound to its user: strings and objects in namespaces of their own, object keys in any order', () => {
  assert.equal(seatToken(undefined, 'T'), 't.T');
  assert.equal(seatToken('alice', 'T'), bindToken('alice', 'T'));
  assert.match(seatToken('alice', 'T'), /^u\./);
  const user = { id: 'a', name: 'Alice' };
  assert.match(seatToken(user, 'T'), /^o\./);
  assert.equal(seatToken(user, 'T'), seatToken({ name: 'Alice', id: 'a' }, 'T'));
  assert.notEqual(seatToken(user, 'T'), seatToken({ id: 'b', name: 'Alice' }, 'T'));
  assert.notEqual(seatToken(user, 'T'), seatToken(user, 'U'));
  assert.notEqual(seatToken(canonicalJson(user), 'T'), seatToken(user, 'T'), 'a string user that reads like the object is another user');
  assert.equal(canonicalJson({ b: [2, { d: 1, c: null }], a: 'x' }), '{"a":"x","b":[2,{"c":null,"d":1}]}');
});
