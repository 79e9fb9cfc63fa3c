/**
 * Another local user plants links and files where Duo keeps its private files: the owner token,
 * broker.log, the autostart lock, the hooks' state. Duo refuses them with a sentence that says
 * what to do, never writes through a link, never takes a token others could read back into use,
 * and tightens a state folder that was left open to everyone. The attacker's files (the link
 * targets) stay exactly as they were.
 */
import { chmodSync, chownSync, mkdirSync, readFileSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureBroker } from '../../src/client/autostart.ts';
import { writeState, sessionFile, readState } from '../../src/cli/hooks/state.ts';
import { ensureOwnerToken, readOwnerTokenFile } from '../../src/shared/owner-token.ts';
import { freePort, startBroker, tempDir, type TestBroker } from '../helpers/broker.ts';
import { cliHome, runDuo } from '../helpers/cli.ts';
import { api } from '../helpers/clients.ts';

const NOBODY = 65534;
const asRoot = process.getuid?.() === 0;

/** A file of the victim that a link points at: its content and mode must never change. */
function bait(dir: string): { path: string; check(): void } {
  const path = join(dir, 'bashrc');
  writeFileSync(path, 'echo hello\n');
  chmodSync(path, 0o644);
  return {
    path,
    check() {
      expect(readFileSync(path, 'utf8')).toBe('echo hello\n');
      expect(statSync(path).mode & 0o777).toBe(0o644);
    },
  };
}

function configOf(home: string): { env: Record<string, string>; dir: string; token: string } {
  const dir = join(home, 'config', 'claude-duo');
  return { env: { XDG_CONFIG_HOME: join(home, 'config') }, dir, token: join(dir, 'owner-token') };
}

describe('the owner token file', () => {
  it('is refused when it is a symbolic link, and the link target is neither read into use nor chmod-ed', () => {
    const home = tempDir();
    const target = bait(home);
    const { env, dir, token } = configOf(home);
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    symlinkSync(target.path, token);
    expect(() => ensureOwnerToken(token)).toThrow(/is a symbolic link.*duo token --rotate/);
    expect(() => readOwnerTokenFile(env)).toThrow(/is a symbolic link/);
    target.check();
  });

  it('is refused when others can read it, and left as it is (never chmod-ed back into use)', () => {
    const { dir, token } = configOf(tempDir());
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    writeFileSync(token, 'x'.repeat(43));
    chmodSync(token, 0o644);
    expect(() => ensureOwnerToken(token)).toThrow(
      /can be read by other users \(mode 0644\)\. The owner token in it may have leaked: run `duo token --rotate`/,
    );
    expect(statSync(token).mode & 0o777).toBe(0o644);
  });

  it.skipIf(!asRoot)('is refused when another user owns it, even by root', () => {
    const { dir, token } = configOf(tempDir());
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    writeFileSync(token, 'x'.repeat(43), { mode: 0o600 });
    chownSync(token, NOBODY, NOBODY);
    expect(() => ensureOwnerToken(token)).toThrow(/belongs to another user \(uid 65534\), not to you \(uid 0\)/);
  });

  it('lives in a folder that is tightened to 0700, with a warning, when it was left open to everyone', () => {
    const { dir, token } = configOf(tempDir());
    mkdirSync(dir, { recursive: true });
    chmodSync(dir, 0o777);
    const warnings: string[] = [];
    ensureOwnerToken(token, (message) => warnings.push(message));
    expect(statSync(dir).mode & 0o777).toBe(0o700);
    expect(warnings.join('\n')).toMatch(/was open to other users \(mode 0777\); it is now 0700/);
  });

  it.skipIf(!asRoot)('lives in a folder that is refused when another user owns it', () => {
    const { dir, token } = configOf(tempDir());
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    chownSync(dir, NOBODY, NOBODY);
    expect(() => ensureOwnerToken(token)).toThrow(/The folder .*claude-duo belongs to another user \(uid 65534\)/);
  });

  it('`duo token` says what to do with a refused file, and `duo token --rotate` replaces a link without following it', async () => {
    const user = cliHome();
    const target = bait(user.home);
    const { dir, token } = configOf(user.home);
    const env = { ...user.env, XDG_CONFIG_HOME: join(user.home, 'config') };
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    symlinkSync(target.path, token);
    const refused = await runDuo(['token'], { env, cwd: user.home });
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toMatch(/is a symbolic link; Duo never follows links .*run `duo token --rotate`/);
    const rotated = await runDuo(['token', '--rotate'], { env, cwd: user.home });
    expect(rotated.code).toBe(0);
    const fresh = rotated.stdout.trim();
    expect(fresh).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(statSync(token).isFile()).toBe(true);
    expect(statSync(token).mode & 0o777).toBe(0o600);
    expect((await runDuo(['token'], { env, cwd: user.home })).stdout.trim()).toBe(fresh);
    target.check();
  });
});

describe('duo token --rotate against a running broker', () => {
  let broker: TestBroker;
  beforeAll(async () => {
    broker = await startBroker();
  });
  afterAll(async () => {
    await broker.close();
  });

  it('makes a new token, and the old one stops working at once', async () => {
    const tokenFile = join(broker.dir, 'owner-token');
    const old = readFileSync(tokenFile, 'utf8').trim();
    const before = await api(broker.url, 'POST', '/register', {
      body: { partnerId: 'before' },
      headers: { 'x-duo-token': old },
    });
    expect(before.status).toBe(200);
    const user = cliHome();
    const rotated = await runDuo(['token', '--rotate'], {
      env: { ...user.env, DUO_OWNER_TOKEN_FILE: tokenFile },
      cwd: user.home,
    });
    expect(rotated.code).toBe(0);
    const fresh = rotated.stdout.trim();
    expect(fresh).not.toBe(old);
    const stale = await api(broker.url, 'POST', '/register', {
      body: { partnerId: 'stale' },
      headers: { 'x-duo-token': old },
    });
    expect(stale.status).toBe(401);
    expect(stale.body.code).toBe('token_required');
    const after = await api(broker.url, 'POST', '/register', {
      body: { partnerId: 'after' },
      headers: { 'x-duo-token': fresh },
    });
    expect(after.status).toBe(200);
  });
});

describe('the state folder', () => {
  it('broker.log planted as a link: autostart refuses to start a broker rather than append through it', async () => {
    const home = tempDir();
    const target = bait(home);
    const state = join(home, 'state', 'claude-duo');
    mkdirSync(state, { recursive: true, mode: 0o700 });
    symlinkSync(target.path, join(state, 'broker.log'));
    const url = `http://127.0.0.1:${await freePort()}`;
    await expect(
      ensureBroker(url, { env: { HOME: home, XDG_STATE_HOME: join(home, 'state'), PATH: process.env.PATH ?? '' } }),
    ).rejects.toThrow(/broker\.log is a symbolic link; Duo never follows links .*Remove it/);
    target.check();
  });

  it('an autostart lock planted as a link is removed, not followed', async () => {
    const home = tempDir();
    const target = bait(home);
    const state = join(home, 'state', 'claude-duo');
    mkdirSync(state, { recursive: true });
    chmodSync(state, 0o777);
    const port = await freePort();
    symlinkSync(target.path, join(state, `autostart-${port}.lock`));
    symlinkSync(target.path, join(state, 'broker.log'));
    // The lock link is taken for a stale lock and removed; the log link then stops the start.
    await expect(
      ensureBroker(`http://127.0.0.1:${port}`, {
        env: { HOME: home, XDG_STATE_HOME: join(home, 'state'), PATH: process.env.PATH ?? '' },
      }),
    ).rejects.toThrow(/broker\.log is a symbolic link/);
    expect(statSync(state).mode & 0o777).toBe(0o700);
    expect(() => statSync(join(state, `autostart-${port}.lock`))).toThrow(/ENOENT/);
    target.check();
  });

  it('the hooks state replaces a planted link instead of writing through it, and tightens a 0777 folder', () => {
    const home = tempDir();
    const target = bait(home);
    const env = { XDG_STATE_HOME: join(home, 'state') };
    const hooks = join(home, 'state', 'claude-duo', 'hooks');
    mkdirSync(hooks, { recursive: true });
    chmodSync(hooks, 0o777);
    chmodSync(join(hooks, '..'), 0o777);
    const file = sessionFile(env, 'k', 'json');
    symlinkSync(target.path, file);
    writeState(env, 'k', { lastLook: 1, announced: [7] });
    expect(readState(env, 'k')).toEqual({ lastLook: 1, announced: [7] });
    expect(statSync(hooks).mode & 0o777).toBe(0o700);
    expect(statSync(join(hooks, '..')).mode & 0o777).toBe(0o700);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    target.check();
  });
});
