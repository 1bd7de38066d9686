// The client keeps its own copies of the server's protocol constants; they must agree.
import assert from 'node:assert/strict';
import test from 'node:test';
import * as server from '../protocol.js';
import * as client from './protocol.js';

test("every constant of the client's protocol copy equals the server's", () => {
  const names = Object.keys(client);
  assert.ok(names.length >= 9, `the client copies the close codes and subprotocols (${names.join(', ')})`);
  for (const name of names) {
    assert.ok(name in server, `${name} is in the client's copy but not in src/protocol.ts`);
    assert.equal((client as Record<string, unknown>)[name], (server as Record<string, unknown>)[name], name);
  }
});
