/**
 * Team mode end to end: two brokers on one PostgreSQL database and a real partner process given
 * both in BROKER_URL. When its broker stops, the partner's socket moves to the other one and says
 * hello there with the secret it already holds (one database, so one secret for both), and what
 * was sent to it meanwhile arrives once, replayed from its `since`.
 */
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { SecretStore } from '../../src/client/secrets.ts';
import { startBroker, type TestBroker } from '../helpers/broker.ts';
import { api, register, talk } from '../helpers/clients.ts';
import { ownerTokenEnv } from '../helpers/owner-tokens.ts';
import { createTestDatabase, postgresSkipReason, type TestDatabase } from '../helpers/postgres.ts';
import { callUntilOk, messagesIn, startStdioPartner, type StdioPartner } from '../helpers/stdio-partner.ts';

/** The secret the partner keeps for the team's list in its per-user secrets file. */
function secretOf(partner: StdioPartner, brokerUrl: string): string | undefined {
  return new SecretStore(join(partner.home, 'config', 'claude-duo', 'secrets.json')).getSecret(brokerUrl, 'alice');
}

const skip = await postgresSkipReason();
if (skip) console.log(`Skipping the partner failover test across a team: ${skip}`);

describe.skipIf(skip !== undefined)(
  `a partner across a team of two brokers${skip ? ` — skipped: ${skip}` : ''}`,
  () => {
    const open: Array<TestBroker> = [];
    let database: TestDatabase | undefined;
    let partner: StdioPartner | undefined;
    afterEach(async () => {
      await partner?.close();
      for (const broker of open.splice(0)) await broker.close();
      await database?.drop();
    });

    it('moves to the other broker when its broker stops, keeps its secret, and misses nothing', async () => {
      database = await createTestDatabase();
      const first = await startBroker({ dbPath: database.url }, { keepDatabase: true });
      open.push(first);
      const second = await startBroker({ dbPath: database.url }, { keepDatabase: true });
      open.push(second);
      const bob = await register(second.url, 'bob');

      partner = await startStdioPartner(`${first.url},${second.url}`, {
        partnerId: 'alice',
        env: ownerTokenEnv(first.url),
      });
      await callUntilOk(partner, 'list_partners');
      const secret = secretOf(partner, `${first.url},${second.url}`);
      expect(secret).toMatch(/.{20,}/);
      const online = async (url: string) =>
        (await api(url, 'GET', '/partners', { secret: bob.secret })).body.partners.some(
          (p: { id: string; online: boolean }) => p.id === 'alice' && p.online,
        );
      await expect.poll(() => online(second.url), { timeout: 10_000 }).toBe(true);
      const before = (await talk(second.url, bob, { to: 'alice', content: 'before' })).body.messageId as number;
      const firstListen = await callUntilOk(partner, 'listen', { timeout: 5 });
      expect(messagesIn(firstListen.text).map((m) => m.content)).toEqual(['before']);

      // The first broker stops; bob writes while alice's socket is moving.
      open.splice(open.indexOf(first), 1);
      await first.close();
      const during = await talk(second.url, bob, { to: 'alice', content: 'during' });
      expect(during.status).toBe(200);

      const next = await callUntilOk(partner, 'listen', { timeout: 10 }, 20_000);
      const got = messagesIn(next.text);
      expect(got.map((m) => m.content)).toEqual(['during']);
      expect(got[0]!.id).toBeGreaterThan(before);
      await expect.poll(() => online(second.url), { timeout: 10_000 }).toBe(true);
      // Still "alice" with the secret it had: the one database knows it on both brokers.
      await callUntilOk(partner, 'talk', { to: 'bob', message: 'still me' });
      expect(secretOf(partner, `${first.url},${second.url}`)).toBe(secret);
      const history = await api(second.url, 'GET', '/conversations/direct:alice:bob/messages', { secret: bob.secret });
      expect(history.body.messages.map((m: { content: string; from: string }) => `${m.from}:${m.content}`)).toEqual([
        'bob:before',
        'bob:during',
        'alice:still me',
      ]);
    });
  },
);
