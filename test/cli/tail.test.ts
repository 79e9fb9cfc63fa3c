import { afterAll, beforeAll, expect, it } from 'vitest';
import { ownerTokenPath } from '../../src/shared/owner-token.ts';
import { startBroker, type TestBroker } from '../helpers/broker.ts';
import { cliHome, LiveDuo, runDuo, type CliHome } from '../helpers/cli.ts';
import { api, connect, register, talk, type Registered } from '../helpers/clients.ts';

let broker: TestBroker;
let h: CliHome;
let aliceDir: string;
let alice: Registered;
let bob: Registered;

beforeAll(async () => {
  // The CLI finds the owner token where the broker of the same user keeps it.
  h = cliHome();
  broker = await startBroker({ ownerTokenPath: ownerTokenPath(h.env) });
  h.env.BROKER_URL = broker.url;
  aliceDir = h.project('alice');
  expect((await runDuo(['register'], { env: h.env, cwd: aliceDir })).code).toBe(0);
  alice = { partnerId: 'alice', secret: h.secrets().getSecret(broker.url, 'alice')! };
  bob = await register(broker.url, 'bob');
});

afterAll(async () => {
  await broker?.close();
});

it('tail shows the backlog, then messages and presence as they happen, consuming nothing and leaving the live session alone', async () => {
  await talk(broker.url, bob, { to: 'alice', content: 'sent before tail started' });
  // The agent's own session stays connected the whole time.
  const agent = await connect(broker.url, alice);
  const tail = new LiveDuo(['tail', '--interval', '100'], { env: h.env, cwd: aliceDir });
  try {
    await tail.waitFor('stderr', /Watching all your conversations as alice/);
    expect(tail.stdout).toMatch(/#1 {2}bob → alice {2}sent before tail started/);

    await talk(broker.url, bob, { to: 'alice', content: 'sent after tail started\nwith a second line\u001b[2J' });
    await tail.waitFor('stdout', /bob → alice {2}sent after tail started\n\s+with a second line/);
    expect(tail.stdout).not.toContain('\u001b');

    // A new group shows up with its first message; presence changes are announced.
    const carol = await register(broker.url, 'carol');
    const group = await api(broker.url, 'POST', '/conversations', {
      secret: carol.secret,
      body: { name: 'Ops', participants: ['alice'] },
    });
    await talk(broker.url, carol, { conversationId: group.body.conversation.id, content: 'hello group' });
    await tail.waitFor('stdout', new RegExp(`carol → Ops \\(${group.body.conversation.id}\\) {2}hello group`));
    const bobSocket = await connect(broker.url, bob);
    await tail.waitFor('stdout', /· bob is online/);
    bobSocket.close();
    await tail.waitFor('stdout', /· bob went offline/);

    // Nothing was marked read, and the agent's socket was never taken over.
    const mine = await api(broker.url, 'GET', '/conversations/alice', { secret: alice.secret });
    expect(mine.body.conversations.reduce((n: number, c: any) => n + c.unread, 0)).toBe(3);
    expect(agent.closeCode).toBeUndefined();
  } finally {
    expect(await tail.stop()).toBe(0);
    agent.close();
  }
});

it('tail of one conversation shows only that one', async () => {
  const tail = new LiveDuo(['tail', 'bob', '-n', '0', '--interval', '100'], { env: h.env, cwd: aliceDir });
  try {
    await tail.waitFor('stderr', /Watching direct:alice:bob as alice/);
    const dave = await register(broker.url, 'dave');
    await talk(broker.url, dave, { to: 'alice', content: 'not for this tail' });
    await talk(broker.url, bob, { to: 'alice', content: 'for this tail' });
    await tail.waitFor('stdout', /for this tail/);
    expect(tail.stdout).not.toContain('not for this tail');
    expect(tail.stdout).not.toContain('sent before tail started');
  } finally {
    await tail.stop();
  }
});
