import assert from 'node:assert/strict';
import path from 'node:path';
import { test } from 'node:test';
import { globToRegExp, ignoredBy } from './dev-ignore.js';

const root = path.resolve('/work/app');
const at = (...parts: string[]): string => path.join(root, ...parts);

test('dev ignores build output, dependencies, dot-folders, editor files, saved rooms, static files and the ignore globs', () => {
  const ignored = ignoredBy({ root, staticFiles: at('public'), ignore: ['notes/**', '*.log'] }, at('.stateroom'));
  for (const file of [
    at('node_modules', 'x', 'index.js'),
    at('dist', 'server.wasm'),
    at('target', 'debug', 'x'),
    at('.git', 'HEAD'),
    at('.vscode', 'settings.json'),
    at('.env'),
    at('src', '.service.ts.swp'),
    at('src', 'service.ts~'),
    at('src', '.#service.ts'),
    at('src', '#service.ts#'),
    at('src', '4913'),
    at('.stateroom', 'abc.room'),
    at('public', 'index.html'),
    at('notes', 'todo', 'x.md'),
    at('logs', 'dev.log'),
  ]) {
    assert.equal(ignored(file), true, `ignored: ${path.relative(root, file)}`);
  }
  for (const file of [at('service.ts'), at('src', 'room.ts'), at('assembly', 'index.ts'), at('stateroom.toml'), at('notes.ts'), at('Cargo.toml')]) {
    assert.equal(ignored(file), false, `watched: ${path.relative(root, file)}`);
  }
});

test('a state directory elsewhere, and no static files or globs', () => {
  const ignored = ignoredBy({ root, staticFiles: undefined, ignore: [] }, at('rooms-saved'));
  assert.equal(ignored(at('rooms-saved', 'x.room')), true);
  assert.equal(ignored(at('public', 'index.html')), false);
});

test('globs: ** any path, * within a name, ? one character, a bare name in any folder', () => {
  const cases: Array<[string, string, boolean]> = [
    ['notes/**', 'notes/a/b.md', true],
    ['notes/**', 'notesx/a', false],
    ['*.log', 'a/b/x.log', true],
    ['*.log', 'x.logs', false],
    ['src/**/gen.ts', 'src/gen.ts', true],
    ['src/**/gen.ts', 'src/a/b/gen.ts', true],
    ['a?.txt', 'ab.txt', true],
    ['a?.txt', 'abc.txt', false],
    ['data/(x).json', 'data/(x).json', true],
  ];
  for (const [glob, file, expected] of cases) assert.equal(globToRegExp(glob).test(file), expected, `${glob} ~ ${file}`);
});
