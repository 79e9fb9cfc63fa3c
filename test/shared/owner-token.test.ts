import { spawn } from 'node:child_process';
import { chmodSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { ensureOwnerToken, ownerTokenPath, readOwnerToken } from '../../src/shared/owner-token.ts';
import { tempDir } from '../helpers/broker.ts';

const ownerTokenModule = new URL('../../src/shared/owner-token.ts', import.meta.url).href;

it('is created once, private to its user, and read back by the command line', () => {
  const home = tempDir();
  const env = { XDG_CONFIG_HOME: join(home, 'config') };
  const path = ownerTokenPath(env);
  expect(path).toBe(join(home, 'config', 'claude-duo', 'owner-token'));
  const token = ensureOwnerToken(path);
  expect(token).toMatch(/^[A-Za-z0-9_-]{43}$/);
  expect(statSync(path).mode & 0o777).toBe(0o600);
  expect(ensureOwnerToken(path)).toBe(token);
  expect(readOwnerToken(env)).toBe(token);
  // DUO_OWNER_TOKEN wins; DUO_TOKEN, the join token, never counts as the owner's.
  expect(readOwnerToken({ ...env, DUO_OWNER_TOKEN: 'a-long-owner-token-value' })).toBe('a-long-owner-token-value');
  expect(readOwnerToken({ ...env, DUO_TOKEN: 'a-long-access-token-value' })).toBe(token);
  expect(readOwnerToken({ ...env, DUO_OWNER_TOKEN_FILE: path })).toBe(token);
});

it('explains what to do when there is none yet', () => {
  const env = { XDG_CONFIG_HOME: join(tempDir(), 'config') };
  expect(() => readOwnerToken(env)).toThrow(
    /There is no owner token in .*owner-token\. The broker writes it on its first start/,
  );
});

it('gives two brokers starting at once the same token', async () => {
  const path = join(tempDir(), 'config', 'claude-duo', 'owner-token');
  const script = `import { ensureOwnerToken } from ${JSON.stringify(ownerTokenModule)}; process.stdout.write(ensureOwnerToken(${JSON.stringify(path)}));`;
  const runs = Array.from(
    { length: 6 },
    () =>
      new Promise<string>((resolve, reject) => {
        const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script]);
        let out = '';
        let err = '';
        child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
        child.stderr.on('data', (chunk: Buffer) => (err += chunk.toString()));
        child.on('close', (code) => (code === 0 ? resolve(out) : reject(new Error(err))));
      }),
  );
  const tokens = await Promise.all(runs);
  expect(new Set(tokens).size).toBe(1);
  expect(readFileSync(path, 'utf8').trim()).toBe(tokens[0]);
});

it('never takes back a copy others could read: it may have leaked (test/hostile/private-files.test.ts has the rest)', () => {
  const path = join(tempDir(), 'owner-token');
  writeFileSync(path, 'x'.repeat(43));
  chmodSync(path, 0o644);
  expect(() => ensureOwnerToken(path)).toThrow(/can be read by other users.*duo token --rotate/);
  expect(statSync(path).mode & 0o777).toBe(0o644);
});
