import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { nodeMajor, SUPPORTED_NODE_MAJORS, supportedNodeText } from '../../src/shared/node-version.ts';

const read = (path: string) => readFileSync(new URL(`../../${path}`, import.meta.url), 'utf8');

describe('the supported Node.js versions', () => {
  it('are the ones package.json engines names, each once', () => {
    const engines = (JSON.parse(read('package.json')) as { engines: { node: string } }).engines.node;
    const majors = engines.split('||').map((range) => nodeMajor(range.trim().replace(/^\^/, '')));
    expect([...majors].sort()).toEqual([...SUPPORTED_NODE_MAJORS].sort());
    // One caret range per major: nothing older or newer slips in.
    for (const range of engines.split('||')) expect(range.trim()).toMatch(/^\^\d+\.\d+\.\d+$/);
  });

  it('are the ones .ci/run tests, the first running the whole suite', () => {
    const line = /^NODE_VERSIONS=\(([\d ]+)\)$/m.exec(read('.ci/run'));
    expect(line, '.ci/run sets NODE_VERSIONS=(…)').not.toBeNull();
    expect(line![1]!.split(' ').map(Number)).toEqual([...SUPPORTED_NODE_MAJORS]);
  });

  it('are the ones the README names', () => {
    expect(supportedNodeText()).toBe('22, 24 or 26');
    expect(read('README.md')).toContain(`Node.js ${supportedNodeText()}, the LTS versions CI tests`);
  });
});
