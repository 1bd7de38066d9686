// Temporary directories for one test file, each removed once the file's tests are done (after
// their servers closed: a server saves its rooms as it closes).
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import test from 'node:test';

/** A maker of fresh directories named `<prefix>…` under the OS's temporary directory. */
export function tempDirs(prefix: string): () => string {
  const dirs: string[] = [];
  test.after(() => {
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  });
  return () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), prefix));
    dirs.push(dir);
    return dir;
  };
}
