import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { SecretStore, brokerKey } from '../../src/client/secrets.ts';
import { secretsFilePath } from '../../src/shared/paths.ts';

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

function store() {
  const dir = mkdtempSync(join(tmpdir(), 'duo-secrets-'));
  dirs.push(dir);
  return new SecretStore(secretsFilePath({ XDG_CONFIG_HOME: dir }));
}

describe('SecretStore', () => {
  it('lives under XDG_CONFIG_HOME with mode 0600 in a 0700 directory', () => {
    const secrets = store();
    secrets.saveSecret('http://localhost:3210', 'alice', 's3cret');
    expect(secrets.filePath).toMatch(/claude-duo\/secrets\.json$/);
    expect(statSync(secrets.filePath).mode & 0o777).toBe(0o600);
    expect(statSync(join(secrets.filePath, '..')).mode & 0o777).toBe(0o700);
  });

  it('keys secrets by broker URL and partner id', () => {
    const secrets = store();
    secrets.saveSecret('http://localhost:3210/', 'alice', 'one');
    secrets.saveSecret('http://localhost:4000', 'alice', 'two');
    expect(secrets.getSecret('http://localhost:3210', 'alice')).toBe('one');
    expect(secrets.getSecret('http://localhost:4000', 'alice')).toBe('two');
    expect(secrets.getSecret('http://localhost:3210', 'bob')).toBeUndefined();
    expect(brokerKey('HTTP://LOCALHOST:3210/')).toBe('http://localhost:3210');
  });

  it('keys a list of brokers by the whole list, one key for the team, a single URL as it always was', () => {
    const secrets = store();
    secrets.saveSecret('https://a.example:3210/, https://b.example:3210', 'alice', 'team');
    expect(brokerKey('https://A.example:3210/,https://b.example:3210/')).toBe(
      'https://a.example:3210,https://b.example:3210',
    );
    expect(secrets.getSecret('https://a.example:3210,https://b.example:3210', 'alice')).toBe('team');
    // Neither broker alone is the team's key: a user's single-broker secrets stay where they were.
    expect(secrets.getSecret('https://a.example:3210', 'alice')).toBeUndefined();
    const file = JSON.parse(readFileSync(secrets.filePath, 'utf8')) as { brokers: Record<string, unknown> };
    expect(Object.keys(file.brokers)).toEqual(['https://a.example:3210,https://b.example:3210']);
  });

  it('remembers which id a project uses and forgets it with the partner', () => {
    const secrets = store();
    secrets.saveSecret('http://localhost:3210', 'app-1a2b3c', 'x');
    secrets.setProjectPartner('http://localhost:3210', '/home/u/app', 'app-1a2b3c');
    expect(secrets.getProjectPartner('http://localhost:3210', '/home/u/app')).toBe('app-1a2b3c');
    secrets.forgetPartner('http://localhost:3210', 'app-1a2b3c');
    expect(secrets.getProjectPartner('http://localhost:3210', '/home/u/app')).toBeUndefined();
    expect(secrets.getSecret('http://localhost:3210', 'app-1a2b3c')).toBeUndefined();
  });

  it('merges updates so a second store instance does not undo the first', () => {
    const a = store();
    const b = new SecretStore(a.filePath);
    a.saveSecret('http://localhost:3210', 'alice', 'one');
    b.saveSecret('http://localhost:3210', 'bob', 'two');
    a.savePartner('http://localhost:3210', 'alice', { envName: 'Alice' });
    expect(b.getPartner('http://localhost:3210', 'alice')).toEqual({ secret: 'one', envName: 'Alice' });
    expect(a.getSecret('http://localhost:3210', 'bob')).toBe('two');
    expect(JSON.parse(readFileSync(a.filePath, 'utf8')).version).toBe(1);
  });

  it('refuses a corrupt file with a sentence naming it', () => {
    const secrets = store();
    secrets.saveSecret('http://localhost:3210', 'alice', 'one');
    writeFileSync(secrets.filePath, '{nope');
    expect(() => secrets.getSecret('http://localhost:3210', 'alice')).toThrow(/not valid JSON; fix or delete it/);
  });

  it('loses no secret when several processes save at the same moment', async () => {
    const secrets = store();
    const module = new URL('../../src/client/secrets.ts', import.meta.url).pathname;
    const writers = Array.from({ length: 6 }, (_, w) => {
      const script = `import { SecretStore } from ${JSON.stringify(module)};
        const s = new SecretStore(${JSON.stringify(secrets.filePath)});
        for (let i = 0; i < 15; i++) s.saveSecret('http://localhost:3210', 'p${w}-' + i, 'secret-${w}-' + i);`;
      const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
        stdio: ['ignore', 'ignore', 'pipe'],
      });
      let stderr = '';
      child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
      return new Promise<void>((resolve, reject) =>
        child.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(stderr)))),
      );
    });
    await Promise.all(writers);
    for (let w = 0; w < 6; w++) {
      for (let i = 0; i < 15; i++)
        expect(secrets.getSecret('http://localhost:3210', `p${w}-${i}`)).toBe(`secret-${w}-${i}`);
    }
  });
});
