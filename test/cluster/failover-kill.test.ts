/**
 * The team's promise under a crash: two broker processes on one PostgreSQL database, two real
 * partner processes (MCP over stdio) given both brokers, talking to each other. The broker they
 * are both connected to is SIGKILLed mid-traffic and they move to the other one; it comes back,
 * the other one is SIGKILLed, and they move back. Every message a `talk` acknowledged arrives
 * exactly once, in the order it was sent.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { startBrokerProcess, type BrokerProcess } from '../helpers/broker.ts';
import { ownerTokenEnv } from '../helpers/owner-tokens.ts';
import { createTestDatabase, postgresSkipReason, type TestDatabase } from '../helpers/postgres.ts';
import { figure, scale } from '../helpers/scale.ts';
import {
  callUntilOk,
  listenFor,
  startStdioPartner,
  type EnvelopedMessage,
  type StdioPartner,
  talkUntilAcked,
} from '../helpers/stdio-partner.ts';

const skip = await postgresSkipReason();
const PER_PARTNER = scale(30, 150);

describe.skipIf(skip !== undefined)(`failover across a team${skip ? ` — skipped: ${skip}` : ''}`, () => {
  const cleanup: Array<() => Promise<unknown>> = [];
  afterEach(async () => {
    for (const step of cleanup.splice(0).reverse()) await step().catch(() => {});
  });

  it(
    `loses and duplicates nothing acknowledged when the partners' broker is SIGKILLed mid-traffic, twice (${PER_PARTNER} messages each way)`,
    { timeout: scale(120_000, 600_000) },
    async () => {
      const database: TestDatabase = await createTestDatabase();
      cleanup.push(() => database.drop());
      let a: BrokerProcess = await startBrokerProcess({ dbPath: database.url });
      cleanup.push(() => a.kill('SIGKILL'));
      const b: BrokerProcess = await startBrokerProcess({ dbPath: database.url });
      cleanup.push(() => b.kill('SIGKILL'));
      const team = `${a.url},${b.url}`;
      const alice: StdioPartner = await startStdioPartner(team, { partnerId: 'alice', env: ownerTokenEnv(a.url) });
      cleanup.push(() => alice.close());
      const bob: StdioPartner = await startStdioPartner(team, { partnerId: 'bob', env: ownerTokenEnv(a.url) });
      cleanup.push(() => bob.close());
      await callUntilOk(alice, 'list_partners', {}, 30_000);
      await callUntilOk(bob, 'list_partners', {}, 30_000);

      // Each partner sends its messages one after another, as a model does; a send that fails
      // (its broker just died) is retried until it is acknowledged, like a model would.
      const acked: Record<string, string[]> = { alice: [], bob: [] };
      // What each read so far: a talk's result carries the conversation's unread messages too.
      const got: Record<string, EnvelopedMessage[]> = { alice: [], bob: [] };
      let failedCalls = 0;
      // Both registered through A (its owner token is valid there only) and are connected to it:
      // it is the first of their list.
      const third = Math.floor(PER_PARTNER / 3);
      let faults = Promise.resolve();
      const sendAll = async (from: StdioPartner, to: string) => {
        for (let i = 0; i < PER_PARTNER; i++) {
          if (from === alice && i === third)
            faults = a.kill('SIGKILL').then(async () => {
              a = await a.restart();
            });
          if (from === alice && i === 2 * third) {
            // Once A is back, B goes down while the last third is sent.
            await faults;
            faults = b.kill('SIGKILL');
          }
          const content = `${from.partnerId}-${i}`;
          failedCalls += await talkUntilAcked(from, to, content, got[from.partnerId]);
          acked[from.partnerId]!.push(content);
        }
      };
      const started = Date.now();
      await Promise.all([sendAll(alice, 'bob'), sendAll(bob, 'alice')]);
      const sendMs = Date.now() - started;
      await faults;

      const gotByBob = [...got.bob!, ...(await listenFor(bob, PER_PARTNER - got.bob!.length, 30_000))];
      const gotByAlice = [...got.alice!, ...(await listenFor(alice, PER_PARTNER - got.alice!.length, 30_000))];
      const contents = (list: { content: string }[]) => list.map((m) => m.content);
      figure('team failover (SIGKILL mid-traffic)', {
        messages: 2 * PER_PARTNER,
        failedCalls,
        lost:
          acked.alice!.filter((c) => !contents(gotByBob).includes(c)).length +
          acked.bob!.filter((c) => !contents(gotByAlice).includes(c)).length,
        duplicated:
          gotByBob.length - new Set(contents(gotByBob)).size + gotByAlice.length - new Set(contents(gotByAlice)).size,
        redelivered: [...gotByBob, ...gotByAlice].filter((m) => m.redelivered).length,
        sendMs,
      });
      expect(contents(gotByBob)).toEqual(acked.alice);
      expect(contents(gotByAlice)).toEqual(acked.bob);

      // The database holds each acknowledged message once, readable through the surviving broker.
      const history = await callUntilOk(alice, 'history', { conversation: 'direct:alice:bob', limit: 200 });
      for (const content of [...acked.alice!, ...acked.bob!])
        expect(history.text.split(`\n${content}\n`).length - 1, content).toBe(1);
    },
  );
});
