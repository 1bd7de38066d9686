// docs/cli.md lists every flag of every command, as `--help` prints it, and no flag a command
// does not have: each command's section holds a table whose first column is the flag.
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { test } from 'node:test';
import { ROOT, run } from './helpers/cli.js';

/** The flags `stateroom <command> --help` prints, as it prints them (`-p, --port <port>`). */
async function helpFlags(command: string[]): Promise<string[]> {
  const out = await run([...command, '--help']);
  assert.equal(out.code, 0, out.stderr);
  const options = out.stdout.split(/^Options:\n/m)[1] ?? '';
  const flags = [...options.matchAll(/^ {2}(-[^\s,]*(?:, --\S+)?(?: [<[]\S+[>\]])?)/gm)].map((m) => m[1] ?? '');
  return flags.filter((flag) => flag !== '-h, --help');
}

/** The section of docs/cli.md under `## <name>`, up to the next `## `. */
function section(doc: string, name: string): string {
  const start = doc.indexOf(`\n## ${name}\n`);
  assert.ok(start >= 0, `docs/cli.md has a "## ${name}" section`);
  const end = doc.indexOf('\n## ', start + 1);
  return doc.slice(start, end < 0 ? undefined : end);
}

/** Table rows whose first cell is a flag in backquotes: [flag, other cells]. */
function flagRows(text: string): [string, string[]][] {
  return [...text.matchAll(/^\| `(-[^`]+)` \|(.*)$/gm)].map((m) => [m[1] ?? '', (m[2] ?? '').split('|').map((c) => c.trim())]);
}

const COMMANDS: { command: string[]; documented: (doc: string) => string[] }[] = [
  { command: ['serve'], documented: (doc) => flagRows(section(doc, 'serve')).map(([flag]) => flag) },
  { command: ['dev'], documented: (doc) => flagRows(section(doc, 'dev')).map(([flag]) => flag) },
  { command: ['build'], documented: (doc) => flagRows(section(doc, 'build')).map(([flag]) => flag) },
  ...['list', 'show', 'delete'].map((sub) => ({
    command: ['rooms', sub],
    // The rooms table says in its second column which subcommands take the flag.
    documented: (doc: string) =>
      flagRows(section(doc, 'rooms'))
        .filter(([, cells]) => (cells[0] ?? '').split(/,\s*/).includes(sub))
        .map(([flag]) => flag),
  })),
];

for (const { command, documented } of COMMANDS) {
  test(`docs/cli.md lists exactly the flags of \`stateroom ${command.join(' ')}\``, async () => {
    const doc = await readFile(`${ROOT}/docs/cli.md`, 'utf8');
    const printed = await helpFlags(command);
    const listed = documented(doc);
    assert.ok(printed.length > 0, `--help prints flags for ${command.join(' ')}`);
    const undocumented = printed.filter((flag) => !listed.includes(flag));
    const unknown = listed.filter((flag) => !printed.includes(flag));
    assert.deepEqual(undocumented, [], `flags of "stateroom ${command.join(' ')}" missing from docs/cli.md`);
    assert.deepEqual(unknown, [], `flags docs/cli.md lists for "stateroom ${command.join(' ')}" that --help does not print`);
    assert.equal(new Set(listed).size, listed.length, 'each flag listed once');
  });
}
