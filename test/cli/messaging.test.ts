import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startBroker, type TestBroker } from '../helpers/broker.ts';
import { cliHome, runDuo, type CliHome } from '../helpers/cli.ts';
import { api, connect, register, talk, type Registered } from '../helpers/clients.ts';

let broker: TestBroker;
let h: CliHome;
let aliceDir: string;
let bob: Registered;
let alice: Registered;

const duo = (args: string[], cwd = aliceDir, input?: string) =>
  runDuo(args, { env: h.env, cwd, ...(input === undefined ? {} : { input }) });

beforeAll(async () => {
  broker = await startBroker();
  h = cliHome(broker.url);
  aliceDir = h.project('alice');
  bob = await register(broker.url, 'bob');
  const registered = await duo(['register', '--name', 'Alice']);
  expect(registered.code, registered.stderr).toBe(0);
  const secret = h.secrets().getSecret(broker.url, 'alice');
  alice = { partnerId: 'alice', secret: secret! };
});

afterAll(async () => {
  await broker?.close();
});

describe('duo register', () => {
  it('registers the project partner, keeps the secret in the per-user file and never prints it', async () => {
    expect(alice.secret).toMatch(/.{20,}/);
    const again = await duo(['register']);
    expect(again.code, again.stderr).toBe(0);
    expect(again.stdout).toMatch(/Re-registered "alice"/);
    expect(again.stdout + again.stderr).not.toContain(alice.secret);
  });
});

describe('duo send', () => {
  it('sends to a partner as the project partner, without consuming anything of its own', async () => {
    const sent = await duo(['send', 'bob', 'hello', 'there']);
    expect(sent.code, sent.stderr).toBe(0);
    expect(sent.stdout).toMatch(/Sent #\d+ to bob \(direct:alice:bob\) as alice/);
    const inbox = await api(broker.url, 'GET', '/listen/bob?peek=1&timeout=0', { secret: bob.secret });
    expect(inbox.body.messages.map((m: any) => [m.from, m.content])).toContainEqual(['alice', 'hello there']);
  });

  it('sends to a conversation id, reading the text from stdin with "-"', async () => {
    const sent = await duo(['send', 'direct:alice:bob', '-'], aliceDir, 'line one\nline two\n');
    expect(sent.code, sent.stderr).toBe(0);
    const history = await api(broker.url, 'GET', '/conversations/direct:alice:bob/messages', { secret: bob.secret });
    expect(history.body.messages.at(-1).content).toBe('line one\nline two');
  });

  it("reports an unknown partner with the broker's sentence and exit code 1", async () => {
    const sent = await duo(['send', 'nobody-here', 'hi']);
    expect(sent.code).toBe(1);
    expect(sent.stderr).toMatch(/No partner is registered as "nobody-here"/);
  });

  it('treats a missing argument as a usage error (exit 2) and shows the help', async () => {
    const sent = await duo(['send', 'bob']);
    expect(sent.code).toBe(2);
    expect(sent.stderr).toMatch(/Usage: duo send/);
  });
});

describe('duo who', () => {
  it('lists partners with online state and marks who I am', async () => {
    const socket = await connect(broker.url, bob);
    try {
      const who = await duo(['who']);
      expect(who.code, who.stderr).toBe(0);
      expect(who.stdout).toMatch(/^\s+bob\s+online/m);
      expect(who.stdout).toMatch(/^\* alice\s+Alice\s+offline/m);
      expect(who.stdout).toMatch(/2 partners, 1 online\. You are alice\./);
    } finally {
      socket.close();
    }
  });
});

describe('duo history', () => {
  it('prints a conversation by partner id and leaves it unread', async () => {
    await talk(broker.url, bob, { to: 'alice', content: 'Sure, what do you need?\nsecond line' });
    const history = await duo(['history', 'bob']);
    expect(history.code, history.stderr).toBe(0);
    // Under alice's own messages, how far each got: bob's socket (opened for `duo who`) was
    // handed them, and nothing has read them yet.
    expect(history.stdout).toMatch(/#\d+ {2}alice → bob {2}hello there\n {24}✓ pushed to bob\n/);
    expect(history.stdout).toMatch(/#\d+ {2}bob → alice {2}Sure, what do you need\?\n\s+second line\n(?!\s+[✓○])/);
    const mine = await api(broker.url, 'GET', '/conversations/alice', { secret: alice.secret });
    expect(mine.body.conversations[0].unread).toBe(1);
  });

  it('reads a direct id written the other way round, or the older direct_a_b way, as the same conversation', async () => {
    const canonical = await duo(['history', 'direct:alice:bob']);
    expect(canonical.code, canonical.stderr).toBe(0);
    for (const written of ['direct:bob:alice', 'direct_bob_alice', 'direct_alice_bob']) {
      const history = await duo(['history', written]);
      expect(history.code, history.stderr).toBe(0);
      expect(history.stdout).toBe(canonical.stdout);
    }
    const sent = await duo(['send', 'direct:bob:alice', 'either way round']);
    expect(sent.code, sent.stderr).toBe(0);
    expect(sent.stdout).toMatch(/to bob \(direct:alice:bob\) as alice/);
  });

  it("says when bob's /listen response carried alice's message: seen", async () => {
    const read = await api(broker.url, 'GET', '/listen/bob?timeout=0&conversationId=direct:alice:bob', {
      secret: bob.secret,
    });
    expect(read.body.messages.length).toBeGreaterThan(0);
    const next = await api(broker.url, 'GET', `/listen/bob?timeout=0&after=${read.body.cursor}`, {
      secret: bob.secret,
    });
    expect(next.status).toBe(200);
    const history = await duo(['history', 'bob']);
    expect(history.stdout).toMatch(/alice → bob {2}hello there\n {24}✓✓ seen by bob\n/);
    expect(history.stdout).not.toContain('pushed to bob');
  });

  it('pages with --limit and --before', async () => {
    const history = await duo(['history', 'direct:alice:bob', '--limit', '1']);
    expect(history.code, history.stderr).toBe(0);
    expect(history.stdout).toMatch(/older messages: duo history direct:alice:bob --before \d+/);
  });
});

describe('acting as another identity', () => {
  it('--as uses another stored secret', async () => {
    expect((await duo(['register', '--as', 'alice-cli'])).code).toBe(0);
    const sent = await duo(['send', '--as', 'alice-cli', 'bob', 'from the human']);
    expect(sent.code, sent.stderr).toBe(0);
    expect(sent.stdout).toMatch(/to bob \(direct:alice-cli:bob\) as alice-cli/);
  });

  it('from a subfolder of the project acts as the project partner', async () => {
    const sub = join(aliceDir, 'src', 'lib');
    mkdirSync(sub, { recursive: true });
    const who = await duo(['who'], sub);
    expect(who.code, who.stderr).toBe(0);
    expect(who.stdout).toMatch(/You are alice\./);
  });

  it('without a stored secret says what to run, and exits 1', async () => {
    const who = await duo(['who'], h.project('stranger'));
    expect(who.code).toBe(1);
    expect(who.stderr).toMatch(/No secret for partner "stranger"/);
    expect(who.stderr).toMatch(/duo install/);
    expect(who.stderr).toMatch(/duo register/);
  });
});
