/**
 * Creating a partner id needs the owner token. A local process of another user (no token)
 * cannot create one, a wrong token does not help, an existing id re-registers with its secret
 * alone, and a real partner process and `duo register` of the broker's user create their ids
 * with nothing but the shared XDG folders.
 */
import { rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startBrokerProcess, type BrokerProcess } from '../helpers/broker.ts';
import { cliHome, runDuo, type CliHome } from '../helpers/cli.ts';
import { api } from '../helpers/clients.ts';
import { callUntilOk, startStdioPartner, type StdioPartner } from '../helpers/stdio-partner.ts';
import { readOwnerTokenFile } from '../../src/shared/owner-token.ts';

let user: CliHome;
let broker: BrokerProcess;
let token: string;
const children: StdioPartner[] = [];

beforeAll(async () => {
  user = cliHome();
  // The broker runs as this user with the default token location, $XDG_CONFIG_HOME/claude-duo.
  broker = await startBrokerProcess({
    dbPath: join(user.home, 'duo.db'),
    env: { XDG_CONFIG_HOME: user.env.XDG_CONFIG_HOME!, DUO_OWNER_TOKEN_FILE: '' },
  });
  user.env.BROKER_URL = broker.url;
  token = readOwnerTokenFile(user.env);
});
afterAll(async () => {
  for (const child of children) await child.close();
  await broker.kill('SIGKILL');
  rmSync(user.home, { recursive: true, force: true });
});

const registerAs = (body: Record<string, unknown>, headers: Record<string, string>, secret?: string) =>
  api(broker.url, 'POST', '/register', { body, headers, ...(secret === undefined ? {} : { secret }) });

describe('the owner token guards new partner ids', () => {
  it('is written to $XDG_CONFIG_HOME/claude-duo/owner-token, readable by its owner only', () => {
    const path = join(user.env.XDG_CONFIG_HOME!, 'claude-duo', 'owner-token');
    expect(statSync(path).mode & 0o777).toBe(0o600);
    expect(token.length).toBeGreaterThanOrEqual(40);
  });

  it('refuses to create an id without the token, or with a wrong one', async () => {
    const none = await registerAs({ partnerId: 'mallory', projectPath: user.home }, {});
    expect(none.status).toBe(401);
    expect(none.body.code).toBe('token_required');
    expect(none.body.error).toMatch(/X-Duo-Token/);
    expect(none.body.error).toMatch(/`duo token` prints it/);
    const wrong = await registerAs({ partnerId: 'mallory' }, { 'x-duo-token': `${token.slice(0, -1)}x` });
    expect(wrong.status).toBe(401);
    expect(wrong.body.code).toBe('token_required');
    const empty = await registerAs({ partnerId: 'mallory' }, { 'x-duo-token': '' });
    expect(empty.body.code).toBe('token_required');
  });

  it('creates the id with the token; the id then re-registers with its secret alone', async () => {
    const created = await registerAs({ partnerId: 'erin' }, { 'x-duo-token': token });
    expect(created.status).toBe(200);
    expect(created.body).toMatchObject({ partnerId: 'erin', created: true });
    const again = await registerAs({ partnerId: 'erin', name: 'Erin' }, {}, created.body.secret);
    expect(again.status).toBe(200);
    expect(again.body).toMatchObject({ partnerId: 'erin', name: 'Erin', created: false });
    // Without the secret or the token, an existing id looks like any other: the token is asked for.
    const stranger = await registerAs({ partnerId: 'erin' }, {});
    expect(stranger.status).toBe(401);
    expect(stranger.body.code).toBe('token_required');
    // The owner without the secret is told the id is taken.
    const owner = await registerAs({ partnerId: 'erin' }, { 'x-duo-token': token });
    expect(owner.body.code).toBe('id_taken');
  });

  it('lets a partner process and `duo register` of the same user create their ids with no configuration', async () => {
    const carol = await startStdioPartner(broker.url, {
      partnerId: 'carol',
      home: user.home,
      env: { XDG_CONFIG_HOME: user.env.XDG_CONFIG_HOME! },
    });
    children.push(carol);
    expect((await callUntilOk(carol, 'list_partners')).text).toMatch(/carol/);
    const registered = await runDuo(['register'], { env: user.env, cwd: user.project('dave') });
    expect(registered.code, registered.stderr).toBe(0);
    const dave = user.secrets().getSecret(broker.url, 'dave');
    expect(dave).toBeDefined();
    const partners = await api(broker.url, 'GET', '/partners', { secret: dave! });
    // mallory, refused above, was never created.
    expect(partners.body.partners.map((p: { id: string }) => p.id).sort()).toEqual(['carol', 'dave', 'erin']);
  });

  it('refuses `duo register` of another user, who has no token file', async () => {
    const other = cliHome(broker.url);
    try {
      const run = await runDuo(['register'], { env: other.env, cwd: other.project('eve') });
      expect(run.code).not.toBe(0);
      expect(`${run.stdout}${run.stderr}`).toMatch(/owner token/);
    } finally {
      rmSync(other.home, { recursive: true, force: true });
    }
  });
});
