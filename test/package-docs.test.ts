// The published package leads back to its docs. The docs are not shipped (the install stays
// lean): package.json names the GitHub repository, homepage and issue tracker — npm's page
// resolves the README's relative links against that repository — and the README links the
// docs folder on GitHub absolutely. Every README link into docs/, and between the docs, names
// a file that is there.
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { readFile, readdir } from 'node:fs/promises';
import path from 'node:path';
import { test } from 'node:test';
import { ROOT } from './helpers/cli.js';

/** Relative link targets in a Markdown text, without their #anchor. */
function relativeLinks(markdown: string): string[] {
  const targets = [...markdown.matchAll(/\]\(([^)\s]+)\)/g)].map((m) => m[1] ?? '');
  return targets.filter((t) => !/^[a-z]+:/i.test(t) && !t.startsWith('#')).map((t) => t.split('#')[0] ?? '');
}

test('package.json names the GitHub repository, homepage and issue tracker; the README links the docs there', async () => {
  const pkg = JSON.parse(await readFile(path.join(ROOT, 'package.json'), 'utf8')) as {
    repository?: { type?: string; url?: string };
    homepage?: string;
    bugs?: { url?: string };
  };
  assert.equal(pkg.repository?.type, 'git');
  assert.match(pkg.repository?.url ?? '', /^git\+https:\/\/github\.com\/[\w.-]+\/[\w.-]+\.git$/);
  const repo = (pkg.repository?.url ?? '').replace(/^git\+/, '').replace(/\.git$/, '');
  assert.equal(pkg.homepage, `${repo}#readme`);
  assert.equal(pkg.bugs?.url, `${repo}/issues`);
  const readme = await readFile(path.join(ROOT, 'README.md'), 'utf8');
  assert.ok(readme.includes(`<${repo}/tree/HEAD/docs>`), 'the README links the docs on GitHub absolutely');
});

test('every link from the README into docs/, and between the docs, names a file that exists', async () => {
  const readme = await readFile(path.join(ROOT, 'README.md'), 'utf8');
  const fromReadme = relativeLinks(readme).filter((t) => t.startsWith('docs/'));
  assert.ok(fromReadme.length >= 10, `the README links the docs (${fromReadme.length} links)`);
  assert.ok(fromReadme.includes('docs/assemblyscript.md'), 'the README links the AssemblyScript API');
  const missing = fromReadme.filter((t) => !existsSync(path.join(ROOT, t)));
  for (const doc of (await readdir(path.join(ROOT, 'docs'))).filter((f) => f.endsWith('.md'))) {
    const text = await readFile(path.join(ROOT, 'docs', doc), 'utf8');
    for (const target of relativeLinks(text).filter((t) => t.endsWith('.md'))) {
      if (!existsSync(path.join(ROOT, 'docs', target))) missing.push(`docs/${doc} → ${target}`);
    }
  }
  assert.deepEqual(missing, [], 'links to files that are not there');
  const wasm = await readFile(path.join(ROOT, 'docs/wasm.md'), 'utf8');
  assert.ok(relativeLinks(wasm).includes('assemblyscript.md'), 'docs/wasm.md links the AssemblyScript API');
});
