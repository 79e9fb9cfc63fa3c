/**
 * A real partner process (stdio, the real MCP client) given several brokers in BROKER_URL: it
 * starts past a dead first broker, and when its broker goes away mid-session its socket moves to
 * the other broker and says hello there. Two SQLite brokers share the owner token, so the partner
 * may create its id on the second one, as it would find it already there on a shared database.
 */
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { freePort, startBroker, tempDir, type TestBroker } from '../helpers/broker.ts';
import { api, register } from '../helpers/clients.ts';
import { callUntilOk, startStdioPartner, type StdioPartner } from '../helpers/stdio-partner.ts';

const cleanups: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function partnerOn(brokerUrl: string, tokenFile: string): Promise<StdioPartner> {
  const partner = await startStdioPartner(brokerUrl, {
    partnerId: 'alice',
    env: { DUO_OWNER_TOKEN_FILE: tokenFile },
  });
  cleanups.push(() => partner.close());
  return partner;
}

/** Whether `partnerId` is online on the broker at `url`, asked as `observer`. */
async function onlineOn(url: string, observer: { secret: string }, partnerId: string): Promise<boolean> {
  const reply = await api(url, 'GET', '/partners', { secret: observer.secret });
  return reply.body.partners?.some((p: { id: string; online: boolean }) => p.id === partnerId && p.online) ?? false;
}

describe('a partner with several brokers', () => {
  it('starts past a dead first broker and talks through the live one', async () => {
    const broker = await startBroker();
    cleanups.push(() => broker.close());
    const bob = await register(broker.url, 'bob');
    const dead = `http://127.0.0.1:${await freePort()}`;
    const alice = await partnerOn(`${dead},${broker.url}`, join(broker.dir, 'owner-token'));
    const partners = await callUntilOk(alice, 'list_partners');
    expect(partners.text).toContain('bob');
    await callUntilOk(alice, 'talk', { to: 'bob', message: 'through the second broker' });
    const history = await api(broker.url, 'GET', '/conversations/direct:alice:bob/messages', { secret: bob.secret });
    expect(history.body.messages.map((m: { content: string }) => m.content)).toEqual(['through the second broker']);
    await expect.poll(() => onlineOn(broker.url, bob, 'alice'), { timeout: 10_000 }).toBe(true);
  });

  it('moves its socket to the other broker when its broker closes mid-session', async () => {
    // One owner token for both, as one team's brokers have one access token.
    const dir = tempDir('duo-team-');
    cleanups.push(async () => rmSync(dir, { recursive: true, force: true }));
    const shared = join(dir, 'owner-token');
    const first: TestBroker = await startBroker({ ownerTokenPath: shared });
    const second: TestBroker = await startBroker({ ownerTokenPath: shared });
    cleanups.push(() => second.close());
    let firstClosed = false;
    cleanups.push(async () => {
      if (!firstClosed) await first.close();
    });
    const watcherFirst = await register(first.url, 'watcher');
    const watcherSecond = await register(second.url, 'watcher');

    const alice = await partnerOn(`${first.url},${second.url}`, shared);
    await callUntilOk(alice, 'list_partners');
    await expect.poll(() => onlineOn(first.url, watcherFirst, 'alice'), { timeout: 10_000 }).toBe(true);

    firstClosed = true;
    await first.close();
    // Its socket says hello on the second broker, which then shows it online.
    await expect.poll(() => onlineOn(second.url, watcherSecond, 'alice'), { timeout: 20_000 }).toBe(true);
    const after = await callUntilOk(alice, 'list_partners');
    expect(after.text).toContain('watcher');
  });
});
