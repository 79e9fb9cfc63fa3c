/**
 * The human's commands: `duo token`, `duo web`, `duo resume`, and holds in `duo who` and
 * `duo tail`, against a real broker whose owner token lives in the CLI's config folder.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { ownerTokenPath } from '../../src/shared/owner-token.ts';
import { startBroker, type TestBroker } from '../helpers/broker.ts';
import { cliHome, LiveDuo, runDuo, type CliHome } from '../helpers/cli.ts';
import { api, register, talk, type Registered } from '../helpers/clients.ts';

let broker: TestBroker;
let h: CliHome;
let aliceDir: string;
let alice: Registered;
let bob: Registered;

const duo = (args: string[], env: Record<string, string> = h.env) => runDuo(args, { env, cwd: aliceDir });

beforeAll(async () => {
  h = cliHome();
  broker = await startBroker({ ownerTokenPath: ownerTokenPath(h.env), loopGuard: '3/60s' });
  h.env.BROKER_URL = broker.url;
  aliceDir = h.project('alice');
  expect((await duo(['register'])).code).toBe(0);
  alice = { partnerId: 'alice', secret: h.secrets().getSecret(broker.url, 'alice')! };
  bob = await register(broker.url, 'bob');
});

afterAll(async () => {
  await broker?.close();
});

it('duo token prints the owner token the broker created', async () => {
  const printed = await duo(['token']);
  expect(printed.code, printed.stderr).toBe(0);
  expect(printed.stdout.trim()).toBe(broker.broker.ownerToken);
  const elsewhere = await duo(['token'], { ...h.env, XDG_CONFIG_HOME: `${h.home}/nowhere` });
  expect(elsewhere.code).toBe(1);
  expect(elsewhere.stderr).toMatch(/There is no owner token in .*nowhere\/claude-duo\/owner-token/);
});

it('duo web prints a login URL on the broker’s origin that works once', async () => {
  const web = await duo(['web', '--as', 'ada', '--name', 'Ada']);
  expect(web.code, web.stderr).toBe(0);
  const url = web.stdout.trim();
  expect(url).toMatch(new RegExp(`^${broker.url}/console/login#code=[A-Za-z0-9_-]{43}$`));
  expect(web.stderr).toMatch(/works once.*"ada" \(a human\)/);
  const code = url.split('#code=')[1]!;
  expect((await api(broker.url, 'POST', '/console/api/session', { body: { code } })).status).toBe(200);
  expect((await api(broker.url, 'POST', '/console/api/session', { body: { code } })).status).toBe(401);

  const agent = await duo(['web', '--as', 'alice']);
  expect(agent.code).toBe(1);
  expect(agent.stderr).toMatch(/"alice" is the id of an agent.*duo web --as <id>/);
  const noToken = await duo(['web'], { ...h.env, XDG_CONFIG_HOME: `${h.home}/nowhere` });
  expect(noToken.code).toBe(1);
  expect(noToken.stderr).toMatch(/no owner token/);
});

it('shows a hold in duo who and duo tail, and duo resume lifts it', async () => {
  const tail = new LiveDuo(['tail', '-n', '0'], { env: h.env, cwd: aliceDir });
  try {
    await tail.waitFor('stderr', /Watching all your conversations as alice/);
    for (const [from, to] of [
      [alice, 'bob'],
      [bob, 'alice'],
      [alice, 'bob'],
    ] as const)
      expect((await talk(broker.url, from, { to, content: `loop ${from.partnerId}` })).status).toBe(200);
    expect((await talk(broker.url, bob, { to: 'alice', content: 'one more' })).status).toBe(423);
    await tail.waitFor(
      'stdout',
      /⏸ bob \(direct:alice:bob\) is on hold: agents sent 3 messages within 1 min with no human message\. Resume: duo resume direct:alice:bob/,
    );

    const who = await duo(['who']);
    expect(who.code, who.stderr).toBe(0);
    expect(who.stdout).toMatch(/⏸ direct:alice:bob is on hold since \d\d:\d\d .*Resume: duo resume direct:alice:bob/);

    const resumed = await duo(['resume', 'direct:bob:alice']);
    expect(resumed.code, resumed.stderr).toBe(0);
    expect(resumed.stdout).toBe('Resumed direct:alice:bob: its agents can write in it again.\n');
    await tail.waitFor('stdout', /▶ bob \(direct:alice:bob\) resumed\n/);
    expect((await duo(['resume', 'direct:alice:bob'])).stdout).toMatch(/was not on hold/);
    expect((await duo(['who'])).stdout).not.toContain('⏸');
    expect((await duo(['resume', 'bob'])).code).toBe(2);
  } finally {
    expect(await tail.stop()).toBe(0);
  }
});

it('duo tail --all shows every conversation, with the newest ones as backlog', async () => {
  const carol = await register(broker.url, 'carol');
  await talk(broker.url, carol, { to: 'bob', content: 'not alice’s business' });
  const tail = new LiveDuo(['tail', '--all', '-n', '2'], { env: h.env, cwd: aliceDir });
  try {
    await tail.waitFor('stderr', /Watching every conversation on/);
    await tail.waitFor('stdout', /carol → bob {2}not alice’s business/);
    expect(tail.stdout.trim().split('\n')).toHaveLength(2);
    await talk(broker.url, bob, { to: 'carol', content: 'live one' });
    await tail.waitFor('stdout', /bob → carol {2}live one/);
  } finally {
    await tail.stop();
  }
});
