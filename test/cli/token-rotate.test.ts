/**
 * `duo token --rotate`: a leaked owner token is replaced without restarting the broker. The broker
 * process of this user accepts only the new token from then on (the old one is refused on every
 * owner path), a console session and partner secrets made before stay valid, and a token given as
 * DUO_OWNER_TOKEN is not "rotated" in a file nobody reads.
 */
import { rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startBrokerProcess, type BrokerProcess } from '../helpers/broker.ts';
import { cliHome, runDuo, type CliHome } from '../helpers/cli.ts';
import { api } from '../helpers/clients.ts';

let user: CliHome;
let broker: BrokerProcess;

beforeAll(async () => {
  user = cliHome();
  broker = await startBrokerProcess({
    dbPath: join(user.home, 'duo.db'),
    env: { XDG_CONFIG_HOME: user.env.XDG_CONFIG_HOME!, DUO_OWNER_TOKEN_FILE: '' },
  });
  user.env.BROKER_URL = broker.url;
});
afterAll(async () => {
  await broker.kill('SIGKILL');
  rmSync(user.home, { recursive: true, force: true });
});

const duo = (args: string[], env = user.env) => runDuo(args, { env, cwd: user.home });
const holds = (token: string) => api(broker.url, 'GET', '/holds', { headers: { 'x-duo-token': token } });

describe('duo token --rotate', () => {
  it('replaces the token; the running broker refuses the old one and accepts the new one', async () => {
    const old = (await duo(['token'])).stdout.trim();
    expect((await holds(old)).status).toBe(200);
    const created = await api(broker.url, 'POST', '/register', {
      headers: { 'x-duo-token': old },
      body: { partnerId: 'alice' },
    });
    expect(created.status).toBe(200);

    const rotated = await duo(['token', '--rotate']);
    expect(rotated.code, rotated.stderr).toBe(0);
    const fresh = rotated.stdout.trim();
    expect(fresh).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(fresh).not.toBe(old);
    expect(rotated.stderr).toMatch(/the old one no longer works/);
    const path = join(user.env.XDG_CONFIG_HOME!, 'claude-duo', 'owner-token');
    expect(statSync(path).mode & 0o777).toBe(0o600);
    expect((await duo(['token'])).stdout.trim()).toBe(fresh);

    expect(await holds(old)).toMatchObject({ status: 401, body: { code: 'unauthorized' } });
    const mint = await api(broker.url, 'POST', '/console/codes', {
      headers: { 'x-duo-token': old },
      body: { partnerId: 'ada' },
    });
    expect(mint.status).toBe(401);
    expect((await holds(fresh)).status).toBe(200);
    // `duo web` of the same user reads the new file and still works.
    const web = await duo(['web', '--as', 'ada']);
    expect(web.code, web.stderr).toBe(0);
    // The partner made with the old token keeps its secret.
    const partners = await api(broker.url, 'GET', '/partners', { secret: created.body.secret });
    expect(partners.status).toBe(200);
  });

  it('does not pretend to rotate a token given as DUO_OWNER_TOKEN', async () => {
    const run = await duo(['token', '--rotate'], { ...user.env, DUO_OWNER_TOKEN: 'x'.repeat(32) });
    expect(run.code).not.toBe(0);
    expect(run.stderr).toMatch(/comes from DUO_OWNER_TOKEN.*restart the brokers/);
  });
});
