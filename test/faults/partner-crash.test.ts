/**
 * Partner crash: what the model read stays read, everything else comes back after the partner
 * restarts, flagged redelivered. Once at the protocol level (a socket that dies without a
 * goodbye), once with a real partner process killed with SIGKILL.
 */
import { rmSync } from 'node:fs';
import { afterEach, expect, it } from 'vitest';
import { startBroker, tempDir, type TestBroker } from '../helpers/broker.ts';
import { connect, register, talk } from '../helpers/clients.ts';
import { figure, waitFor } from '../helpers/scale.ts';
import { listenFor, startStdioPartner, type StdioPartner } from '../helpers/stdio-partner.ts';

let broker: TestBroker;
const cleanup: Array<() => unknown> = [];
afterEach(async () => {
  for (const step of cleanup.splice(0)) await step();
  await broker.close();
});

it('a socket that dies unannounced gets its unread messages again, flagged redelivered; acked ones stay read', async () => {
  broker = await startBroker({ heartbeatMs: 200 });
  const alice = await register(broker.url, 'alice');
  const bob = await register(broker.url, 'bob');
  for (let i = 0; i < 10; i++) await talk(broker.url, alice, { to: 'bob', content: `m${i}` });

  const first = await connect(broker.url, bob);
  await first.until((c) => c.messages().length === 10, 5_000, '10 pushes');
  const pushed = first.messages();
  expect(pushed.every((m) => m.redelivered === undefined)).toBe(true);
  first.send({ type: 'ack', conversationId: 'direct:alice:bob', upTo: pushed[3]!.id });
  await waitFor(
    async () =>
      (
        (await broker.broker.database.sqlite!.prepare("SELECT cursor FROM members WHERE partner_id = 'bob'").get()) as {
          cursor: number;
        }
      ).cursor === pushed[3]!.id,
    5_000,
    'ack stored',
  );
  first.socket.terminate();
  await waitFor(() => !broker.broker.service.sessions.has('bob'), 5_000, 'session gone');

  // A restarted partner holds nothing: since = 0.
  const second = await connect(broker.url, bob, 0);
  await second.until((c) => c.messages().length === 6, 5_000, '6 replays');
  await new Promise((resolve) => setTimeout(resolve, 200));
  const replayed = second.messages();
  figure('partner crash (ws)', {
    read: 4,
    unread: 6,
    replayed: replayed.length,
    flaggedRedelivered: replayed.filter((m) => m.redelivered).length,
    readReplayed: replayed.filter((m) => m.id <= pushed[3]!.id).length,
  });
  expect(replayed.map((m) => m.content)).toEqual(['m4', 'm5', 'm6', 'm7', 'm8', 'm9']);
  expect(replayed.every((m) => m.redelivered === true)).toBe(true);
  second.close();
});

it(
  'a partner process killed with SIGKILL: listen after restart returns the unread ones, redelivered, and not the read ones',
  { timeout: 60_000 },
  async () => {
    broker = await startBroker();
    const alice = await register(broker.url, 'alice');
    // The same home (secrets file, project folder) for both runs: the restarted partner is "bob" again.
    const home = tempDir('duo-stdio-');
    let bob: StdioPartner = await startStdioPartner(broker.url, { partnerId: 'bob', home });
    cleanup.push(
      () => bob.close(),
      () => rmSync(home, { recursive: true, force: true }),
    );
    await waitFor(async () => broker.broker.service.sessions.has('bob'), 20_000, 'bob connected', 50);

    for (let i = 0; i < 4; i++) await talk(broker.url, alice, { to: 'bob', content: `read ${i}` });
    const read = await listenFor(bob, 4, 10_000);
    expect(read.map((m) => m.content)).toEqual(['read 0', 'read 1', 'read 2', 'read 3']);
    for (let i = 0; i < 6; i++) await talk(broker.url, alice, { to: 'bob', content: `unread ${i}` });
    // Pushed into bob's inbox (the unread footer says so), not read.
    await waitFor(
      async () => (await bob.call('list_partners')).text.includes('📬 6 unread'),
      10_000,
      'six in the inbox',
      50,
    );

    process.kill(bob.pid, 'SIGKILL');
    await bob.close();
    await waitFor(() => !broker.broker.service.sessions.has('bob'), 5_000, 'session gone');
    bob = await startStdioPartner(broker.url, { partnerId: 'bob', home });
    const again = await listenFor(bob, 6, 20_000);
    await new Promise((resolve) => setTimeout(resolve, 200));
    const extra = (await bob.call('listen', { timeout: 0 })).text;
    figure('partner crash (mcp stdio, SIGKILL)', {
      read: read.length,
      unread: 6,
      cameBack: again.length,
      flaggedRedelivered: again.filter((m) => m.redelivered).length,
      readCameBack: again.filter((m) => m.content.startsWith('read')).length,
    });
    expect(again.map((m) => m.content)).toEqual([
      'unread 0',
      'unread 1',
      'unread 2',
      'unread 3',
      'unread 4',
      'unread 5',
    ]);
    expect(again.every((m) => m.redelivered)).toBe(true);
    expect(extra).toContain('No new messages');
  },
);
