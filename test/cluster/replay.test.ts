/**
 * An attacker with a database login (any role that can connect may LISTEN and NOTIFY) captures
 * the brokers' genuine, signed notifications during a real two-broker run and sends them again.
 * None of them may change anything: no session or watcher closed, no hold set or lifted, no rate budget
 * spent, no message or frame delivered twice.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { CloseCode } from '../../src/shared/protocol.ts';
import { api, connect, register, talk, type Registered, type WsClient } from '../helpers/clients.ts';
import { startBroker } from '../helpers/broker.ts';
import { consoleApi, consoleLogin, sessionOn, watchAs } from '../helpers/console.ts';
import { postgresSkipReason } from '../helpers/postgres.ts';
import { sleep, waitFor } from '../helpers/scale.ts';
import { eavesdrop, startTeam, type TestTeam } from '../helpers/team.ts';

const skip = await postgresSkipReason();

function kinds(payloads: readonly string[]): Set<string> {
  return new Set(payloads.map((p) => JSON.parse(p.slice(p.indexOf('.') + 1)).t as string));
}

describe.skipIf(skip !== undefined)(`replayed cluster notifications${skip ? ` — skipped: ${skip}` : ''}`, () => {
  let team: TestTeam | undefined;
  let spy: Awaited<ReturnType<typeof eavesdrop>> | undefined;
  afterEach(async () => {
    await spy?.end();
    await team?.close();
    spy = team = undefined;
  });

  it('change nothing, whatever kind they are', async () => {
    // A small rate budget, so replayed rate reports would show; four agent messages per conversation.
    team = await startTeam(2, { loopGuard: '4/60s', rateLimit: 2, rateBurst: 40 });
    const [brokerA, brokerB] = team.brokers as [(typeof team.brokers)[0], (typeof team.brokers)[0]];
    const [a, b] = [brokerA.url, brokerB.url];
    spy = await eavesdrop(team.database.url);
    const owner = (url: string) => ({
      'x-duo-token': (url === a ? brokerA : brokerB).broker.ownerToken,
    });
    const holdsOn = async (url: string) =>
      ((await api(url, 'GET', '/holds', { headers: owner(url) })).body.holds as Array<{ conversationId: string }>).map(
        (h) => h.conversationId,
      );

    const alice = await register(a, 'alice');
    const bob = await register(b, 'bob');
    const carol = await register(a, 'carol');
    const dave = await register(a, 'dave');

    // Takeover: bob's session on A is replaced by one on B (4001 on A).
    const bobOld = await connect(a, bob);
    await sleep(300);
    const bobWs = await connect(b, bob);
    expect(await bobOld.closed).toBe(4001);
    const aliceWs = await connect(a, alice);
    const carolWs = await connect(b, carol);
    // Dave unregisters while connected on the other broker (4010).
    const daveWs = await connect(b, dave);
    // A third broker starts and stops: its `beat up`, the others' `here` and its `bye` are captured.
    const third = await startBroker({ dbPath: team.database.url }, { keepDatabase: true });
    await sleep(300);
    expect((await api(a, 'POST', '/unregister', { secret: dave.secret, body: {} })).status).toBe(200);
    expect(await daveWs.closed).toBe(4010);
    await third.close();

    // A console logout through A closes its session's watcher on B (4011); another console
    // session keeps watching on both brokers.
    const gone = await consoleLogin(brokerA, 'ada');
    const goneWatch = watchAs(brokerB, sessionOn(gone, brokerB));
    const stays = await consoleLogin(brokerB, 'grace');
    const watchers = [watchAs(brokerA, sessionOn(stays, brokerA)), watchAs(brokerB, stays)];
    await Promise.all([goneWatch.opened, ...watchers.map((w) => w.opened)]);
    expect((await consoleApi(brokerA, gone, 'POST', '/console/api/logout', {})).status).toBe(200);
    expect(await goneWatch.closed).toBe(CloseCode.sessionEnded);

    // A group (membership), messages both ways, and a read through the other broker.
    const group = await api(a, 'POST', '/conversations', {
      secret: alice.secret,
      body: { name: 'trio', participants: ['bob', 'carol'] },
    });
    expect(group.status).toBe(200);
    await talk(a, alice, { conversationId: group.body.conversation.id, content: 'hello group' });
    await bobWs.until((c) => c.messages().length === 1, 5000, 'the group message');
    expect((await api(a, 'GET', '/listen/bob?timeout=0', { secret: bob.secret })).body.messages).toHaveLength(1);
    await bobWs.frame('read');

    /** Agents write in turn until the loop guard holds their conversation. */
    async function loopUntilHeld(first: Registered, firstUrl: string, second: Registered, secondUrl: string) {
      for (let i = 0; i < 10; i++) {
        const [who, url, to] = i % 2 ? [second, secondUrl, first] : [first, firstUrl, second];
        const reply = await talk(url, who, { to: to.partnerId, content: `turn ${i}` });
        if (reply.status === 423) return;
        expect(reply.status).toBe(200);
      }
      throw new Error('the loop guard never held the conversation');
    }
    const resume = async (url: string, conversationId: string) =>
      expect((await api(url, 'POST', `/conversations/${conversationId}/resume`, { headers: owner(url) })).status).toBe(
        200,
      );

    // alice–bob: held, then resumed (ends free). carol–bob: held, resumed, held again (ends held).
    await loopUntilHeld(alice, a, bob, b);
    await resume(b, 'direct:alice:bob');
    await loopUntilHeld(bob, b, carol, a);
    await resume(a, 'direct:bob:carol');
    await loopUntilHeld(bob, b, carol, a);
    for (const url of [a, b])
      await waitFor(async () => (await holdsOn(url)).join() === 'direct:bob:carol', 5000, 'one hold on each broker');
    await sleep(500); // the last rate reports go out
    const captured = [...spy.payloads];
    // Every kind of notification a team sends was captured.
    expect([...kinds(captured)].sort()).toEqual(
      ['beat', 'bye', 'free', 'here', 'hold', 'mem', 'msg', 'open', 'out', 'pres', 'rate', 'read', 'unreg'].sort(),
    );

    const frames = { bob: bobWs.frames.length, alice: aliceWs.frames.length, carol: carolWs.frames.length };
    const delivered = { bob: bobWs.messages().length, alice: aliceWs.messages().length };

    // The attack: everything again, several times over (rate reports add up).
    for (let round = 0; round < 5; round++) await spy.replay(captured);
    // A genuine message after the replays: once it arrives, each broker has handled them all.
    const marker = await talk(a, alice, { conversationId: group.body.conversation.id, content: 'after the replay' });
    expect(marker.status).toBe(200);
    for (const ws of [bobWs, carolWs])
      await ws.until(
        (c) => c.closeCode !== undefined || c.messages().some((m) => m.content === 'after the replay'),
        10_000,
        'the marker',
      );
    await sleep(500);

    // No session closed (a replayed `open` or `unreg` would end them with 4001 or 4010).
    for (const ws of [bobWs, aliceWs, carolWs] as WsClient[]) expect(ws.closeCode).toBeUndefined();
    // No console watcher closed (a replayed `out` may name only a session already gone).
    for (const watcher of watchers) expect(watcher.socket.readyState).toBe(watcher.socket.OPEN);
    // No hold set, none lifted, on either broker.
    for (const url of [a, b]) expect(await holdsOn(url)).toEqual(['direct:bob:carol']);
    expect((await talk(a, alice, { to: 'bob', content: 'not held' })).status).toBe(200);
    expect((await talk(a, carol, { to: 'bob', content: 'still held' })).status).toBe(423);
    expect((await talk(b, bob, { to: 'carol', content: 'still held' })).status).toBe(423);
    // Nothing delivered twice, no frame beyond the genuine ones (the marker and alice's message).
    expect(bobWs.messages().length).toBe(delivered.bob + 2);
    expect(new Set(bobWs.messages().map((m) => m.id)).size).toBe(bobWs.messages().length);
    expect(aliceWs.messages().length).toBe(delivered.alice);
    expect(bobWs.frames.length).toBeLessThanOrEqual(frames.bob + 2);
    expect(carolWs.frames.length).toBe(frames.carol + 1);
    expect(aliceWs.frames.length).toBe(frames.alice);
    // No rate budget spent by the replays: requests on both brokers still pass.
    for (const url of [a, b])
      for (const who of [alice, bob])
        expect((await api(url, 'GET', '/partners', { secret: who.secret })).status).toBe(200);
  });

  it('refuses a signed payload whose sequence number or send time was changed', async () => {
    team = await startTeam(2);
    const [a, b] = team.brokers.map((broker) => broker.url) as [string, string];
    spy = await eavesdrop(team.database.url);
    const bob = await register(a, 'bob');
    const first = await connect(a, bob);
    await sleep(300);
    const second = await connect(b, bob);
    expect(await first.closed).toBe(4001);
    const open = spy.payloads.find((p) => p.includes('"t":"open"') && p.includes('"p":"bob"'));
    expect(open).toBeDefined();
    const dot = open!.indexOf('.');
    const event = JSON.parse(open!.slice(dot + 1));
    // As new as can be: a fresh sequence number and time, under the original signature.
    const tampered = [
      { ...event, n: event.n + 1_000_000 },
      { ...event, at: Date.now() },
      { ...event, n: event.n + 1_000_000, at: Date.now() },
    ].map((e) => `${open!.slice(0, dot)}.${JSON.stringify(e)}`);
    // Bob's first `open` (from A): believed, it would end his newer session on B.
    await spy.replay(tampered);
    await sleep(500);
    expect(second.closeCode).toBeUndefined();
    // The genuine path still works: a new hello on A takes over.
    const third = await connect(a, bob);
    expect(await second.closed).toBe(4001);
    expect(third.closeCode).toBeUndefined();
  });
});
