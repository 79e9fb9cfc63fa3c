/**
 * `duo` with several brokers in BROKER_URL: commands fail over past a dead broker, keep one secret
 * for the team's list, `duo doctor` reports every broker of the list, and plain http to a broker
 * on another machine is refused before anything is sent.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort, startBroker, type TestBroker } from '../helpers/broker.ts';
import { cliHome, runDuo, type CliHome } from '../helpers/cli.ts';
import { api, register, type Registered } from '../helpers/clients.ts';
import { ownerTokenEnv } from '../helpers/owner-tokens.ts';

let broker: TestBroker;
let dead: string;
let h: CliHome;
let project: string;
let bob: Registered;

beforeAll(async () => {
  broker = await startBroker();
  dead = `http://127.0.0.1:${await freePort()}`;
  h = cliHome();
  // A dead broker first; the owner token is the live one's, as for a team sharing a database.
  Object.assign(h.env, { BROKER_URL: `${dead},${broker.url}`, ...ownerTokenEnv(broker.url) });
  project = h.project('alice');
  bob = await register(broker.url, 'bob');
});

afterAll(async () => {
  await broker?.close();
});

const duo = (args: string[], env: Record<string, string> = h.env) => runDuo(args, { env, cwd: project });

describe('duo with a list of brokers', () => {
  it('registers, lists and sends past a dead first broker, keeping the secret under the whole list', async () => {
    const registered = await duo(['register']);
    expect(registered.code, registered.stderr).toBe(0);
    expect(h.secrets().getSecret(`${dead},${broker.url}`, 'alice')).toMatch(/.{20,}/);
    expect(h.secrets().getSecret(broker.url, 'alice')).toBeUndefined();

    const who = await duo(['who']);
    expect(who.code, who.stderr).toBe(0);
    expect(who.stdout).toMatch(/\* alice/);
    expect(who.stdout).toMatch(/ bob/);

    const sent = await duo(['send', 'bob', 'hello over the team']);
    expect(sent.code, sent.stderr).toBe(0);
    const history = await api(broker.url, 'GET', '/conversations/direct:alice:bob/messages', { secret: bob.secret });
    expect(history.body.messages.map((m: { content: string }) => m.content)).toEqual(['hello over the team']);
  });

  it('duo doctor reports each broker of the list, answering or not', async () => {
    const run = await duo(['doctor']);
    expect(run.stdout).toContain(`broker ${dead},${broker.url}`);
    expect(run.stdout).toMatch(new RegExp(`! The Duo broker at ${dead} is not reachable`));
    expect(run.stdout).toMatch(new RegExp(`✓ The broker answers at ${broker.url} \\(version`));
    expect(run.stdout).toMatch(/✓ The broker accepts the stored secret of "alice"/);
  });

  it('says none of the brokers answered when all are down', async () => {
    const other = `http://127.0.0.1:${await freePort()}`;
    const run = await duo(['who'], { ...h.env, BROKER_URL: `${dead},${other}` });
    expect(run.code).toBe(1);
    // No secret is stored under that list; registering is what reaches (or not) the brokers.
    const register = await duo(['register'], { ...h.env, BROKER_URL: `${dead},${other}` });
    expect(register.code).toBe(1);
    expect(register.stderr).toContain(`None of the Duo brokers ${dead}, ${other} answered`);
  });
});

describe('the owner token', () => {
  it('is never sent from its file to a broker on another machine: duo web asks for DUO_OWNER_TOKEN instead', async () => {
    const run = await duo(['web'], { ...h.env, BROKER_URL: 'https://192.0.2.1:3210' });
    expect(run.code).toBe(1);
    expect(run.stderr).toContain('only ever sent to a broker on this machine, and https://192.0.2.1:3210 is not one');
    expect(run.stderr).toContain('Set DUO_OWNER_TOKEN');
  });

  it('is DUO_OWNER_TOKEN for the owner commands on a team broker; DUO_TOKEN alone is refused with what to do', async () => {
    const join = 'the-team-join-token-0123456789';
    const team = await startBroker({ token: join });
    try {
      // An agent's shell: the join token, and no owner-token file.
      const agent = { ...h.env, BROKER_URL: team.url, DUO_TOKEN: join, DUO_OWNER_TOKEN_FILE: `${h.home}/none` };
      for (const args of [['web'], ['resume', 'direct:alice:bob'], ['tail', '--all']]) {
        const run = await duo(args, agent);
        expect(run.code, args.join(' ')).toBe(1);
        expect(run.stderr).toMatch(/DUO_OWNER_TOKEN/);
      }
      // The agent's own commands still work with the join token.
      expect((await duo(['register'], agent)).code).toBe(0);
      // With the owner token, duo web mints a login.
      const owner = await duo(['web', '--as', 'ada'], { ...agent, DUO_OWNER_TOKEN: team.broker.ownerToken });
      expect(owner.code, owner.stderr).toBe(0);
      expect(owner.stdout).toContain(`${team.url}/console/login#code=`);
    } finally {
      await team.close();
    }
  });
});

describe('plain http to another machine', () => {
  it('is refused before any connection, with the fix, unless DUO_ALLOW_PLAIN_HTTP=1', async () => {
    // A TEST-NET address: nothing answers there, so only a refusal made before connecting is quick and clear.
    const far = 'http://192.0.2.1:3210';
    const run = await duo(['who'], { ...h.env, BROKER_URL: `${broker.url},${far}` });
    expect(run.code).toBe(1);
    expect(run.stderr).toContain(`over plain http to ${far}`);
    expect(run.stderr).toContain('Use https://192.0.2.1:3210');
    expect(run.stderr).toContain('DUO_ALLOW_PLAIN_HTTP=1');
    // Allowed, the list works: the first broker answers.
    const allowed = await duo(['who'], { ...h.env, BROKER_URL: `${broker.url},${far}`, DUO_ALLOW_PLAIN_HTTP: '1' });
    expect(allowed.stderr).not.toContain('plain http');
    // (It got as far as looking for a secret under that list, which this home has none for.)
    expect(allowed.stderr).toMatch(/No secret for partner "alice"/);
  });
});
