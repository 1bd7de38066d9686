import assert from 'node:assert/strict';
import { test } from 'node:test';
import { clientQuery } from './client-query.js';

test('the query a service sees: the client’s parameters, decoded, frozen', () => {
  const query = clientQuery('lang=fr&name=Ana%20Mar%C3%ADa&flag');
  assert.deepEqual({ ...query }, { lang: 'fr', name: 'Ana María', flag: '' });
  assert.ok(Object.isFrozen(query));
  assert.deepEqual({ ...clientQuery('') }, {});
});

test('the parameters the server reads (the resume token, received) are never in it', () => {
  assert.deepEqual({ ...clientQuery('token=s3cret&received=4&room=a') }, { room: 'a' });
  assert.deepEqual({ ...clientQuery('token=s3cret&token=again') }, {});
});

test('bounded: 16 parameters, names of at most 64 characters, values cut at 256, first value of a repeated name', () => {
  const many = Array.from({ length: 40 }, (_, i) => `p${i}=${i}`).join('&');
  assert.deepEqual(Object.keys(clientQuery(many)), Array.from({ length: 16 }, (_, i) => `p${i}`));
  // The server's own parameters do not take a place among the 16.
  assert.equal(Object.keys(clientQuery(`token=t&received=1&${many}`)).length, 16);
  assert.deepEqual({ ...clientQuery(`${'k'.repeat(65)}=long&${'k'.repeat(64)}=ok`) }, { ['k'.repeat(64)]: 'ok' });
  assert.equal(clientQuery(`v=${'x'.repeat(1000)}`).v, 'x'.repeat(256));
  assert.deepEqual({ ...clientQuery('a=1&a=2&b=3') }, { a: '1', b: '3' });
});

test('credentials by their usual names (access_token, jwt, api_key…) are never in it: a service showing clientInfo would pass them on', () => {
  assert.deepEqual(clientQuery('access_token=eyJ.SECRET.sig&jwt=x&api_key=k&password=p&lang=fr'), { lang: 'fr' });
});

test('a parameter named __proto__ or constructor is a plain key, not a prototype', () => {
  const query = clientQuery('__proto__=x&constructor=y');
  assert.equal(Object.getPrototypeOf(query), Object.prototype);
  assert.deepEqual(Object.entries(query), [['__proto__', 'x'], ['constructor', 'y']]);
});
