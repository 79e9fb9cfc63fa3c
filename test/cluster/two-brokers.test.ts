/**
 * Two brokers on one PostgreSQL database, as team mode runs them: whatever a partner does on
 * one broker reaches partners on the other — pushed messages, long-poll wake-ups, presence,
 * takeover, group membership, loop-guard holds, rate limits and console logouts.
 */
import pg from 'pg';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { CloseCode } from '../../src/shared/protocol.ts';
import { api, connect, register, talk, WsClient, type Registered } from '../helpers/clients.ts';
import type { TestBroker } from '../helpers/broker.ts';
import { consoleApi, consoleLogin, sessionOn, watchAs, watchStatus } from '../helpers/console.ts';
import { POSTGRES_ADMIN_URL, postgresSkipReason } from '../helpers/postgres.ts';
import { sleep, waitFor } from '../helpers/scale.ts';
import { TcpProxy } from '../helpers/tcp-proxy.ts';
import { startTeam, type TestTeam } from '../helpers/team.ts';

const skip = await postgresSkipReason();

describe.skipIf(skip !== undefined)(`two brokers on one database${skip ? ` — skipped: ${skip}` : ''}`, () => {
  let team: TestTeam;
  let a: string;
  let b: string;
  let alice: Registered;
  let bob: Registered;
  let carol: Registered;

  async function start(overrides: Parameters<typeof startTeam>[1] = {}) {
    team = await startTeam(2, overrides);
    [a, b] = team.brokers.map((broker) => broker.url) as [string, string];
    alice = await register(a, 'alice');
    bob = await register(b, 'bob');
    carol = await register(a, 'carol');
  }
  afterEach(async () => team?.close());

  describe('with default settings', () => {
    beforeEach(() => start());

    it('pushes a message committed on one broker to a session on the other, in order, exactly once', async () => {
      const bobWs = await connect(b, bob);
      const sent: number[] = [];
      for (let i = 0; i < 50; i++) {
        const reply = await talk(a, alice, { to: 'bob', content: `m${i}`, clientMsgId: `c${i}` });
        expect(reply.status).toBe(200);
        sent.push(reply.body.messageId);
      }
      await bobWs.until((c) => c.messages().length >= 50, 10_000, '50 messages on broker B');
      expect(bobWs.messages().map((m) => m.id)).toEqual(sent);
      expect(bobWs.messages().map((m) => m.content)).toEqual(sent.map((_, i) => `m${i}`));
      // A retry on the other broker is answered as the duplicate it is.
      const retry = await talk(b, alice, { to: 'bob', content: 'm0', clientMsgId: 'c0' });
      expect(retry.body).toMatchObject({ messageId: sent[0], duplicate: true });
      await sleep(200);
      expect(bobWs.messages()).toHaveLength(50);
    });

    it('tells a session on one broker that its partner read a message through the other', async () => {
      const bobWs = await connect(b, bob);
      const sent = await talk(a, alice, { to: 'bob', content: 'read me' });
      await bobWs.until((c) => c.messages().length === 1, 10_000, 'the push on broker B');
      // A hook of bob's session reads through broker A.
      const heard = await api(a, 'GET', '/listen/bob?timeout=0', { secret: bob.secret });
      expect(heard.body.messages).toHaveLength(1);
      const read = await bobWs.frame('read', () => true, 10_000);
      expect(read).toEqual({ type: 'read', conversationId: 'direct:alice:bob', upTo: sent.body.messageId });
    });

    it('pushes messages sent through both brokers at once to a group member in id order, none skipped', async () => {
      const created = await api(a, 'POST', '/conversations', {
        secret: alice.secret,
        body: { name: 'race', participants: ['bob', 'carol'] },
      });
      const group = created.body.conversation.id as string;
      // Bob acks everything the moment it arrives, as a partner does: a message pushed out of id
      // order would be skipped by the ack of a newer one.
      const bobWs = await connect(b, bob);
      bobWs.socket.on('message', (data) => {
        const frame = JSON.parse(data.toString());
        if (frame.type === 'message')
          bobWs.send({ type: 'ack', conversationId: frame.message.conversationId, upTo: frame.message.id });
      });
      const send = (url: string, who: Registered, n: number) =>
        Promise.all(
          Array.from({ length: n }, (_, i) =>
            talk(url, who, { conversationId: group, content: `${who.partnerId} ${i}` }).then((r) => r.body.messageId),
          ),
        );
      const sent: number[] = [];
      for (let round = 0; round < 10; round++) {
        const [fromA, fromB] = await Promise.all([send(a, alice, 10), send(b, carol, 10)]);
        sent.push(...fromA, ...fromB);
      }
      sent.sort((x, y) => x - y);
      await bobWs.until((c) => c.messages().length >= sent.length, 15_000, 'every message');
      const got = bobWs.messages().map((m) => m.id);
      expect(got).toEqual(sent);
      // And every ack landed: nothing is left unread.
      await waitFor(
        async () =>
          (await api(b, 'GET', '/listen/bob?timeout=0&peek=1', { secret: bob.secret })).body.messages.length === 0,
        10_000,
        'the acks to mark everything read',
      );
    });

    it('wakes a long-poll on the other broker as soon as the message commits', async () => {
      await talk(a, alice, { to: 'bob', content: 'first' });
      await api(b, 'GET', '/listen/bob?timeout=1', { secret: bob.secret }).then((r) =>
        api(b, 'GET', `/listen/bob?timeout=1&after=${r.body.cursor}`, { secret: bob.secret }),
      );
      const waiting = api(b, 'GET', '/listen/bob?timeout=20', { secret: bob.secret });
      await sleep(300);
      const started = Date.now();
      await talk(a, alice, { to: 'bob', content: 'wake up' });
      const reply = await waiting;
      expect(reply.status, JSON.stringify(reply.body)).toBe(200);
      expect(reply.body.messages.map((m: { content: string }) => m.content)).toEqual(['wake up']);
      expect(Date.now() - started).toBeLessThan(15_000);
    });

    it('ends a session on one broker with 4001 when the same partner says hello on the other', async () => {
      const first = await connect(a, bob);
      await sleep(200); // its `open` is announced before the second hello
      const second = await connect(b, bob);
      expect(await first.closed).toBe(CloseCode.replaced);
      await talk(a, alice, { to: 'bob', content: 'after takeover' });
      await second.until((c) => c.messages().some((m) => m.content === 'after takeover'), 5000, 'the message');
      expect(first.messages().some((m) => m.content === 'after takeover')).toBe(false);
      const partners = await api(a, 'GET', '/partners', { secret: alice.secret });
      expect(partners.body.partners.find((p: { id: string }) => p.id === 'bob').online).toBe(true);
    });

    it('keeps exactly one session when hellos of one partner reach both brokers within milliseconds', async () => {
      // Takeover is decided per session: a broker's own `open` coming back must not vouch for a
      // newer session of the same partner that replaced it meanwhile, or an `open` from the other
      // broker would close that newer one too and leave the partner with no session at all.
      for (let round = 0; round < 20; round++) {
        const who = await register(a, `racer${round}`);
        const sockets = [new WsClient(a), new WsClient(b), new WsClient(a), new WsClient(b)];
        await Promise.all(sockets.map((ws) => ws.opened));
        const hello = { type: 'hello', partnerId: who.partnerId, secret: who.secret, since: 0 };
        for (const ws of sockets) ws.send(hello);
        await waitFor(
          async () => sockets.filter((ws) => ws.closeCode === undefined).length <= 1,
          10_000,
          'the takeovers to settle',
        );
        await sleep(500); // any late `open` has arrived
        const open = sockets.filter((ws) => ws.closeCode === undefined);
        expect(open, `round ${round}: ${sockets.map((ws) => ws.closeCode).join()}`).toHaveLength(1);
        const [survivor] = open as [WsClient];
        expect(survivor.frames.some((f) => f.type === 'welcome')).toBe(true);
        for (const ws of sockets) if (ws !== survivor) expect(ws.closeCode).toBe(CloseCode.replaced);
        // It works: a message reaches it.
        await talk(a, alice, { to: who.partnerId, content: `round ${round}` });
        await survivor.until((c) => c.messages().length === 1, 5000, 'the message');
        survivor.close();
      }
    });

    it('closes a session on the other broker with 4010 when its partner unregisters', async () => {
      const bobWs = await connect(b, bob);
      expect((await api(a, 'POST', '/unregister', { secret: bob.secret, body: {} })).status).toBe(200);
      expect(await bobWs.closed).toBe(CloseCode.unregistered);
    });

    it("closes a console session's watch socket on the other broker with 4011 when it logs out", async () => {
      const [brokerA, brokerB] = team.brokers as [TestBroker, TestBroker];
      const auth = await consoleLogin(brokerA, 'ada');
      const onB = sessionOn(auth, brokerB);
      const other = await consoleLogin(brokerB, 'grace');
      const mine = watchAs(brokerB, onB);
      const theirs = watchAs(brokerB, other);
      await Promise.all([mine.opened, theirs.opened]);
      await mine.until((w) => w.frames.length > 0, 'the watching frame');
      // It streams: a message committed on broker A reaches the watcher on broker B.
      await talk(a, alice, { to: 'ada', content: 'before the logout' });
      await mine.until((w) => w.messageIds().length === 1, 'the message on broker B');

      const out = await consoleApi(brokerA, auth, 'POST', '/console/api/logout', {});
      expect(out.body).toEqual({ loggedOut: true });
      const code = await Promise.race([mine.closed, sleep(5000).then(() => 'still open after 5 s')]);
      expect(code).toBe(CloseCode.sessionEnded);
      // Another session's watcher stays, and the old session opens no new one anywhere.
      expect(theirs.socket.readyState).toBe(theirs.socket.OPEN);
      expect(await watchStatus(brokerA, auth)).toBe(401);
      expect(await watchStatus(brokerB, onB)).toBe(401);
      theirs.close();
    });

    it('ignores notifications no broker of the database signed', async () => {
      const bobWs = await connect(b, bob);
      const intruder = new pg.Client({ connectionString: team.database.url });
      await intruder.connect();
      try {
        const forged = JSON.stringify({ t: 'unreg', b: 'intruder', p: 'bob' });
        for (const payload of [forged, `bm90LWEtc2lnbmF0dXJl.${forged}`])
          await intruder.query('select pg_notify($1, $2)', ['claude_duo', payload]);
      } finally {
        await intruder.end();
      }
      await sleep(500);
      expect(bobWs.closeCode).toBeUndefined();
      // The real thing still works.
      expect((await api(a, 'POST', '/unregister', { secret: bob.secret, body: {} })).status).toBe(200);
      expect(await bobWs.closed).toBe(CloseCode.unregistered);
    });

    it('shows presence across brokers, and a partner as offline once it left every broker', async () => {
      await talk(a, alice, { to: 'bob', content: 'hi' });
      const aliceWs = await connect(a, alice);
      const bobWs = await connect(b, bob);
      expect(await aliceWs.frame('presence', (f) => f.partnerId === 'bob' && f.online)).toBeDefined();
      const onA = await api(a, 'GET', '/partners', { secret: carol.secret });
      expect(onA.body.partners.find((p: { id: string }) => p.id === 'bob').online).toBe(true);
      await api(b, 'POST', '/partners/bob/status', { secret: bob.secret, body: { status: 'on broker B' } });
      expect(await aliceWs.frame('presence', (f) => f.partnerId === 'bob' && f.status === 'on broker B')).toBeDefined();
      bobWs.close();
      expect(await aliceWs.frame('presence', (f) => f.partnerId === 'bob' && !f.online)).toBeDefined();
      await waitFor(
        async () => {
          const list = await api(a, 'GET', '/partners', { secret: carol.secret });
          return list.body.partners.find((p: { id: string }) => p.id === 'bob').online === false;
        },
        5000,
        'bob to be listed offline on broker A',
      );
    });

    it('lets a member use a group on the other broker the moment it is created', async () => {
      const created = await api(a, 'POST', '/conversations', {
        secret: alice.secret,
        body: { name: 'team', participants: ['bob', 'carol'] },
      });
      expect(created.status).toBe(200);
      const id = created.body.conversation.id as string;
      // No wait: the announcement may not have arrived, and the broker must look it up.
      const sent = await talk(b, bob, { conversationId: id, content: 'hello group' });
      expect(sent.status).toBe(200);
      const list = await api(b, 'GET', '/conversations/bob', { secret: bob.secret });
      expect(list.body.conversations.find((c: { id: string }) => c.id === id).members).toEqual([
        'alice',
        'bob',
        'carol',
      ]);
      const left = await api(b, 'POST', `/conversations/${id}/leave`, { secret: carol.secret });
      expect(left.status).toBe(200);
      await waitFor(
        async () => {
          const onA = await api(a, 'GET', '/conversations/alice', { secret: alice.secret });
          return onA.body.conversations.find((c: { id: string }) => c.id === id).members.length === 2;
        },
        5000,
        'the member who left to be gone on broker A',
      );
    });

    it('creates a direct conversation once when both sides start it on different brokers at the same moment', async () => {
      const pairs = await Promise.all([
        talk(a, alice, { to: 'bob', content: 'from alice' }),
        talk(b, bob, { to: 'alice', content: 'from bob' }),
        talk(a, carol, { to: 'bob', content: 'from carol' }),
        talk(b, bob, { to: 'carol', content: 'bob to carol' }),
      ]);
      expect(pairs.map((r) => r.status)).toEqual([200, 200, 200, 200]);
      expect(new Set(pairs.map((r) => r.body.conversationId)).size).toBe(2);
      const history = await api(b, 'GET', '/conversations/direct:alice:bob/messages', { secret: bob.secret });
      expect(history.body.messages.map((m: { content: string }) => m.content).sort()).toEqual([
        'from alice',
        'from bob',
      ]);
    });
  });

  describe('when a broker loses its database connection', () => {
    let proxy: TcpProxy;
    afterEach(async () => proxy?.close());

    it('catches up from the database on the notifications it missed', async () => {
      // Broker B reaches PostgreSQL through a proxy that the test can silence and cut.
      proxy = await TcpProxy.start(Number(new URL(POSTGRES_ADMIN_URL).port || 5432));
      team = await startTeam(2, {}, (index, url) => {
        if (index === 0) return url;
        const routed = new URL(url);
        routed.host = `127.0.0.1:${proxy.port}`;
        return routed.toString();
      });
      [a, b] = team.brokers.map((broker) => broker.url) as [string, string];
      alice = await register(a, 'alice');
      bob = await register(b, 'bob');
      const bobWs = await connect(b, bob);
      await talk(a, alice, { to: 'bob', content: 'before' });
      await bobWs.until((c) => c.messages().length === 1, 5000, 'the first message');

      // B hears nothing while these commit on A; then its connections drop, as in a network outage.
      proxy.silence();
      for (let i = 0; i < 5; i++) expect((await talk(a, alice, { to: 'bob', content: `gap ${i}` })).status).toBe(200);
      proxy.cut();
      await sleep(300);
      expect(bobWs.messages()).toHaveLength(1);
      proxy.heal();

      await bobWs.until((c) => c.messages().length === 6, 15_000, 'the messages sent during the outage');
      expect(bobWs.messages().map((m) => m.content)).toEqual(['before', 'gap 0', 'gap 1', 'gap 2', 'gap 3', 'gap 4']);
    });
  });

  describe('limits', () => {
    it('holds a loop between agents on different brokers, on both, and resumes it on both', async () => {
      await start({ loopGuard: '4/60s' });
      const aliceWs = await connect(a, alice);
      const bobWs = await connect(b, bob);
      const statuses: number[] = [];
      for (let i = 0; i < 3; i++) {
        statuses.push((await talk(a, alice, { to: 'bob', content: `ping ${i}` })).status);
        if (statuses.at(-1) !== 200) break;
        await bobWs.until((c) => c.messages().length > i, 5000, `ping ${i}`);
        statuses.push((await talk(b, bob, { to: 'alice', content: `pong ${i}` })).status);
        await aliceWs.until((c) => c.messages().length > i, 5000, `pong ${i}`);
      }
      // Four agent messages fit the budget; the fifth, on either broker, is held.
      expect(statuses.slice(0, 4)).toEqual([200, 200, 200, 200]);
      expect(statuses[4]).toBe(423);
      const holdsOn = async (url: string, token: string) =>
        (await api(url, 'GET', '/holds', { headers: { 'x-duo-token': token } })).body.holds;
      const [brokerA, brokerB] = team.brokers as [(typeof team.brokers)[0], (typeof team.brokers)[0]];
      // B hears of A's hold through a notification, which comes after A's answer.
      await waitFor(async () => (await holdsOn(a, brokerA.broker.ownerToken)).length === 1, 5000, 'the hold on A');
      await waitFor(async () => (await holdsOn(b, brokerB.broker.ownerToken)).length === 1, 5000, 'the hold on B');
      // Either broker's conversation list says so too.
      for (const [url, who] of [
        [a, alice],
        [b, bob],
      ] as const) {
        const list = await api(url, 'GET', `/conversations/${who.partnerId}`, { secret: who.secret });
        expect(list.body.conversations[0].held).toBe(true);
      }
      expect((await talk(a, alice, { to: 'bob', content: 'still looping' })).status).toBe(423);
      const resumed = await api(b, 'POST', '/conversations/direct:alice:bob/resume', {
        headers: { 'x-duo-token': brokerB.broker.ownerToken },
      });
      expect(resumed.status).toBe(200);
      await waitFor(async () => (await holdsOn(a, brokerA.broker.ownerToken)).length === 0, 5000, 'no hold on A');
      expect((await talk(a, alice, { to: 'bob', content: 'after resume' })).status).toBe(200);
    });

    it('gives a partner one request budget across brokers, not one per broker', async () => {
      // 1 request a second with a burst of 10: alone, each broker would allow about 10 of its 12.
      await start({ rateLimit: 1, rateBurst: 10 });
      const statuses: number[] = [];
      for (let i = 0; i < 24; i++) {
        statuses.push((await api(i % 2 ? b : a, 'GET', '/partners', { secret: alice.secret })).status);
        await sleep(50);
      }
      const allowed = statuses.filter((s) => s === 200).length;
      expect(statuses.filter((s) => s === 429).length).toBeGreaterThan(0);
      // One shared budget: the burst, about one token refilled, and at most a report's worth of lag.
      expect(allowed).toBeLessThanOrEqual(14);
    });
  });
});
