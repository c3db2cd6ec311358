import assert from 'node:assert/strict';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, it } from 'node:test';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
// Built from pieces so that this file does not match what it looks for.
const SHARED_DOCS = ['shared', 'docs'].join('/');
const SECTION_CITE = new RegExp(`${SHARED_DOCS}|doc ${'\u00a7'}`);

function markdownFiles(): string[] {
  const docs = existsSync(join(ROOT, 'docs')) ? readdirSync(join(ROOT, 'docs')).filter((f) => f.endsWith('.md')).map((f) => join(ROOT, 'docs', f)) : [];
  return [join(ROOT, 'README.md'), join(ROOT, 'SECURITY.md'), ...docs];
}

function sourceFiles(dir: string): string[] {
  return readdirSync(join(ROOT, dir), { withFileTypes: true, recursive: true })
    .filter((e) => e.isFile() && /\.(ts|js)$/.test(e.name))
    .map((e) => join(e.parentPath, e.name));
}

/** GitHub's heading anchors: lower case, punctuation dropped, spaces to hyphens. */
function anchors(markdown: string): Set<string> {
  const found = new Set<string>();
  for (const [, title] of markdown.matchAll(/^#{1,6} (.+)$/gm)) {
    found.add(title!.trim().toLowerCase().replace(/[^\p{L}\p{N} _-]/gu, '').replace(/ /g, '-'));
  }
  return found;
}

describe('documentation', () => {
  it('links only to files inside the repository that exist, and to headings that exist', () => {
    const problems: string[] = [];
    for (const file of markdownFiles()) {
      const text = readFileSync(file, 'utf8');
      const name = relative(ROOT, file);
      if (text.includes('../shared') || text.includes(SHARED_DOCS)) problems.push(`${name} mentions the shared docs folder, which a clone does not have`);
      for (const [, target] of text.matchAll(/\]\(([^)\s]+)\)/g)) {
        if (/^[a-z]+:/i.test(target!)) continue; // http(s), mailto: outside links are addresses, not files
        const [path, fragment] = target!.split('#');
        const resolved = path === '' ? file : resolve(dirname(file), path!);
        if (relative(ROOT, resolved).startsWith('..')) problems.push(`${name} links outside the repository: ${target}`);
        else if (!existsSync(resolved)) problems.push(`${name} links to a missing file: ${target}`);
        else if (fragment !== undefined && resolved.endsWith('.md') && !anchors(readFileSync(resolved, 'utf8')).has(fragment)) problems.push(`${name} links to a missing heading: ${target}`);
      }
    }
    assert.deepEqual(problems, []);
  });

  it('code comments point at docs/ in the repository, not at the shared docs or their section numbers', () => {
    const problems: string[] = [];
    for (const dir of ['src', 'test', 'bench', 'examples', 'scripts']) {
      for (const file of sourceFiles(dir)) {
        const text = readFileSync(file, 'utf8');
        if (SECTION_CITE.test(text)) problems.push(relative(ROOT, file));
      }
    }
    assert.deepEqual(problems, []);
  });

  it('the README lists every limit with its default', async () => {
    const { defaultConfig } = await import('../../src/host/config-sources.js');
    const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
    for (const [key, value] of Object.entries(defaultConfig().limits)) {
      assert.match(readme, new RegExp(`^\\| \`${key}\` \\| ${value} \\|`, 'm'), `README's limits table lacks ${key} with its default ${value}`);
    }
  });
});
