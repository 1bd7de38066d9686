// What a service passes to sendMessage or close is judged with an answer, never a crash of the check itself.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { whyNotARecipient } from './checks.js';

test('a recipient that is not JSON (a BigInt, a cycle) is refused with a reason, not a TypeError', () => {
  assert.equal(whyNotARecipient(5n), "5n is not a client id, 'broadcast' or { except: id }");
  const cycle: { self?: unknown } = {};
  cycle.self = cycle;
  assert.match(whyNotARecipient(cycle) ?? '', /^a value of type object that is not JSON is not a client id/);
  assert.equal(whyNotARecipient({ except: 2 }), undefined);
});
