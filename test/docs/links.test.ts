/**
 * The README, CONTRIBUTING.md and docs/ read as one set: every relative link between them points
 * at a file that exists, and every #anchor at a heading of that file, slugged the way GitHub does.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const DOCUMENTS = [
  'README.md',
  'CONTRIBUTING.md',
  ...readdirSync(join(ROOT, 'docs'))
    .filter((name) => name.endsWith('.md'))
    .map((name) => `docs/${name}`),
];

/** The text outside fenced code blocks and inline code, where headings and links are real. */
function prose(markdown: string): string {
  return markdown.replace(/^```[^\n]*\n[\s\S]*?^```$/gm, '').replace(/`[^`\n]*`/g, '');
}

/** GitHub's anchor for a heading: lower case, punctuation dropped, spaces to hyphens. */
function slug(heading: string): string {
  return heading
    .toLowerCase()
    .replace(/[^\p{L}\p{M}\p{N}\p{Pc} -]/gu, '')
    .replace(/ /g, '-');
}

/** The anchors a document's headings make; a repeated heading gets -1, -2, … as on GitHub. */
function anchors(markdown: string): Set<string> {
  const seen = new Map<string, number>();
  const result = new Set<string>();
  for (const [, heading] of markdown.replace(/^```[^\n]*\n[\s\S]*?^```$/gm, '').matchAll(/^#{1,6} +(.+?) *#*$/gm)) {
    const base = slug(heading!);
    const count = seen.get(base) ?? 0;
    seen.set(base, count + 1);
    result.add(count === 0 ? base : `${base}-${count}`);
  }
  return result;
}

/** Every relative link of `markdown` (in `file`) that leads nowhere, as "file: target — why". */
function brokenLinks(file: string, markdown: string, read: (path: string) => string | undefined): string[] {
  const broken: string[] = [];
  for (const [, target] of prose(markdown).matchAll(/\]\(([^)\s]+)(?: "[^"]*")?\)/g)) {
    if (/^[a-z][a-z0-9+.-]*:/i.test(target!)) continue; // https:, mailto: … are not ours to check
    const [path, anchor] = target!.split('#', 2) as [string, string | undefined];
    const into = path === '' ? file : relative(ROOT, join(ROOT, dirname(file), decodeURIComponent(path)));
    const text = read(into);
    if (text === undefined) broken.push(`${file}: ${target} — no file ${into}`);
    else if (anchor !== undefined && into.endsWith('.md') && !anchors(text).has(anchor))
      broken.push(`${file}: ${target} — no heading with the anchor #${anchor} in ${into}`);
  }
  return broken;
}

function readRepoFile(path: string): string | undefined {
  const full = join(ROOT, path);
  if (!existsSync(full)) return undefined;
  return path.endsWith('.md') ? readFileSync(full, 'utf8') : '';
}

describe('links between the README, CONTRIBUTING.md and docs/', () => {
  it('slugs headings as GitHub does', () => {
    expect(slug('Team mode: several brokers on PostgreSQL')).toBe('team-mode-several-brokers-on-postgresql');
    expect(slug('How to add …')).toBe('how-to-add-');
    expect(slug('`duo hook wait` and DUO_TOKEN')).toBe('duo-hook-wait-and-duo_token');
    expect([...anchors('# A\n## Notes\n```\n# not a heading\n```\n## Notes\n')]).toEqual(['a', 'notes', 'notes-1']);
  });

  it('finds a link to a missing file or heading, and ignores links in code', () => {
    const files: Record<string, string> = { 'docs/b.md': '# B\n## Real heading\n' };
    const doc = [
      '[ok](b.md#real-heading) [up](../README.md) [web](https://example.com/x#y)',
      '[gone](c.md) [wrong](b.md#no-such) [self](#nowhere)',
      '`[code](nowhere.md)`',
      '```\n[fenced](nowhere.md)\n```',
    ].join('\n');
    const read = (path: string) =>
      path === 'docs/a.md' ? doc : (files[path] ?? (path === 'README.md' ? '' : undefined));
    expect(brokenLinks('docs/a.md', doc, read)).toEqual([
      'docs/a.md: c.md — no file docs/c.md',
      'docs/a.md: b.md#no-such — no heading with the anchor #no-such in docs/b.md',
      'docs/a.md: #nowhere — no heading with the anchor #nowhere in docs/a.md',
    ]);
  });

  it.each(DOCUMENTS)('%s: every relative link and #anchor resolves', (file) => {
    const text = readFileSync(join(ROOT, file), 'utf8');
    expect(brokenLinks(file, text, readRepoFile)).toEqual([]);
  });

  it('links the README to every document in docs/', () => {
    const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
    for (const file of DOCUMENTS.filter((name) => name.startsWith('docs/'))) expect(readme).toContain(`](${file}`);
  });
});
