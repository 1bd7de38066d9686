// docs/errors.md has one row for every error code, and no row for a code that is gone.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import test from 'node:test';
import { ErrorCode } from './errors.js';

test('docs/errors.md has a row for each ErrorCode, and only for those', () => {
  const doc = readFileSync(new URL('../docs/errors.md', import.meta.url), 'utf8');
  const rows = [...doc.matchAll(/^\| `(SR_ERR_[A-Z_]+)` \|/gm)].map((m) => m[1]!);
  const codes: string[] = Object.values(ErrorCode);
  assert.deepEqual(
    codes.filter((code) => !rows.includes(code)),
    [],
    'codes without a row in docs/errors.md',
  );
  assert.deepEqual(
    rows.filter((row) => !codes.includes(row)),
    [],
    'rows in docs/errors.md for codes that do not exist',
  );
  assert.equal(new Set(rows).size, rows.length, 'each code has one row');
});
