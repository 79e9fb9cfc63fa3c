import { rmSync } from 'node:fs';
import { afterEach, describe, expect, it, onTestFinished } from 'vitest';
import { LoopGuard } from '../../src/broker/loop-guard.ts';
import type { Hold } from '../../src/shared/console-protocol.ts';
import { DuoError } from '../../src/shared/errors.ts';
import { DEFAULT_LOOP_GUARD, parseLoopPolicy } from '../../src/shared/loop-policy.ts';
import { startBroker, type TestBroker } from '../helpers/broker.ts';
import { consoleApi, consoleLogin } from '../helpers/console.ts';
import { api, connect, register, talk } from '../helpers/clients.ts';
import { figure } from '../helpers/scale.ts';
import { startPartner } from '../helpers/mcp-partner.ts';

describe('the policy', () => {
  function guard(setting = '3/10s', members: Record<string, string[]> = {}) {
    let now = Date.parse('2026-01-01T00:00:00Z');
    const events: string[] = [];
    const g = new LoopGuard(parseLoopPolicy(setting), () => new Date(now), {
      held: (hold: Hold) => events.push(`held ${hold.conversationId} ${hold.messages}/${hold.windowSeconds}`),
      released: (id, by) => events.push(`released ${id} ${by}`),
    });
    g.useParticipants({ members: (id) => members[id] ?? [], isHuman: (id) => id === 'ada' });
    const code = (fn: () => void) => {
      try {
        fn();
        return 'ok';
      } catch (error) {
        return (error as DuoError).code;
      }
    };
    return { g, events, code, advance: (ms: number) => (now += ms) };
  }

  it('holds the message that would exceed the budget while two agents talk, and every one after it', () => {
    const { g, events, code } = guard();
    for (const sender of ['a', 'b', 'a']) expect(code(() => g.admit('c1', sender, false))).toBe('ok');
    expect(code(() => g.admit('c1', 'b', false))).toBe('conversation_held');
    expect(code(() => g.admit('c1', 'a', false))).toBe('conversation_held');
    expect(events).toEqual(['held c1 3/10']);
    // Other conversations have budgets of their own.
    expect(code(() => g.admit('c2', 'a', false))).toBe('ok');
  });

  it('says why and how the conversation resumes', () => {
    const { g } = guard('20/5m');
    for (let i = 0; i < 20; i++) g.admit('direct:a:b', i % 2 ? 'a' : 'b', false);
    let error: DuoError | undefined;
    try {
      // The 20 turns ended with a; b taking the 21st turn is held.
      g.admit('direct:a:b', 'b', false);
    } catch (e) {
      error = e as DuoError;
    }
    expect(error?.status).toBe(423);
    expect(error?.message).toMatch(/on hold: its agents sent 20 messages within 5 min with no message from a human/);
    expect(error?.message).toContain('duo resume direct:a:b');
  });

  it('never holds one agent talking alone, and forgets messages older than the window', () => {
    const { g, code, advance } = guard();
    for (let i = 0; i < 10; i++) expect(code(() => g.admit('c1', 'a', false))).toBe('ok');
    for (const sender of ['a', 'b', 'a']) g.admit('c2', sender, false);
    advance(10_001);
    expect(code(() => g.admit('c2', 'b', false))).toBe('ok');
  });

  it('resets the budget and lifts a hold on a human message or a resume', () => {
    const { g, events, code } = guard();
    for (const sender of ['a', 'b', 'a']) g.admit('c1', sender, false);
    g.admit('c1', 'ada', true);
    for (const sender of ['b', 'a', 'b']) expect(code(() => g.admit('c1', sender, false))).toBe('ok');
    expect(code(() => g.admit('c1', 'a', false))).toBe('conversation_held');
    g.admit('c1', 'ada', true);
    expect(code(() => g.admit('c1', 'a', false))).toBe('ok');
    for (const sender of ['b', 'a']) g.admit('c1', sender, false);
    expect(code(() => g.admit('c1', 'b', false))).toBe('conversation_held');
    expect(g.resume('c1')).toBe(true);
    expect(g.resume('c1')).toBe(false);
    expect(code(() => g.admit('c1', 'b', false))).toBe('ok');
    expect(events).toEqual(['held c1 3/10', 'released c1 human_message', 'held c1 3/10', 'released c1 resume']);
  });

  it('shares one budget and one hold across every conversation of the same agents', () => {
    const members = { g1: ['a', 'b'], g2: ['b', 'a', 'ada'], g3: ['a', 'b', 'c'] };
    const { g, events, code } = guard('3/10s', members);
    for (const [conversation, sender] of [
      ['g1', 'a'],
      ['direct:a:b', 'b'],
      ['g2', 'a'],
    ])
      expect(code(() => g.admit(conversation!, sender!, false))).toBe('ok');
    // A new group of the same two agents (a human member does not make it another set) buys nothing.
    expect(code(() => g.admit('g2', 'b', false))).toBe('conversation_held');
    expect(code(() => g.admit('g1', 'a', false))).toBe('conversation_held');
    expect(code(() => g.admit('direct:b:a', 'a', false))).toBe('conversation_held');
    // Another set of agents has its own budget.
    expect(code(() => g.admit('g3', 'a', false))).toBe('ok');
    expect(events).toEqual(['held g2 3/10', 'held g1 3/10', 'held direct:b:a 3/10']);
    // One resume lifts the holds of the set, and its budget starts afresh.
    expect(g.resume('g1')).toBe(true);
    expect(events.slice(3).sort()).toEqual(['released direct:b:a resume', 'released g1 resume', 'released g2 resume']);
    for (const sender of ['b', 'a', 'b']) expect(code(() => g.admit('g2', sender, false))).toBe('ok');
    expect(code(() => g.admit('g1', 'a', false))).toBe('conversation_held');
    // A human message in any conversation of the set lifts them all.
    g.admit('g2', 'ada', true);
    expect(g.all()).toEqual([]);
  });

  it('counts turns, not messages: one agent streaming progress is never held', () => {
    const { g, code } = guard('3/10s', { g1: ['a', 'b'] });
    expect(code(() => g.admit('g1', 'b', false))).toBe('ok');
    for (let i = 0; i < 100; i++) expect(code(() => g.admit('g1', 'a', false))).toBe('ok');
    // Turns so far: b, a. Five messages in a row by b are one more turn.
    for (let i = 0; i < 5; i++) expect(code(() => g.admit('g1', 'b', false))).toBe('ok');
    expect(code(() => g.admit('g1', 'a', false))).toBe('conversation_held');
  });

  it('does nothing when switched off', () => {
    const { g, code } = guard('off');
    for (let i = 0; i < 100; i++) expect(code(() => g.admit('c1', i % 2 ? 'a' : 'b', false))).toBe('ok');
    expect(g.all()).toEqual([]);
  });

  it('reads its setting as N/T or off, and explains a bad one', () => {
    expect(parseLoopPolicy('20/5m')).toEqual({ limit: 20, windowMs: 300_000 });
    expect(parseLoopPolicy(' 50 / 90s ')).toEqual({ limit: 50, windowMs: 90_000 });
    expect(parseLoopPolicy('OFF')).toBeNull();
    for (const bad of ['20', '20/5', '0/5m', '20/0s', 'x/5m', '20/5d'])
      expect(() => parseLoopPolicy(bad)).toThrow(/write N\/T, such as "20\/5m"/);
  });
});

describe('in the broker', () => {
  let broker: TestBroker | undefined;
  afterEach(async () => {
    await broker?.close();
    broker = undefined;
  });

  it('refuses the agent message over budget over REST (423) and WebSocket, keeps the hold across a restart, and resumes', async () => {
    broker = await startBroker({ loopGuard: '4/60s' });
    const alice = await register(broker.url, 'alice');
    const bob = await register(broker.url, 'bob');
    for (let i = 0; i < 4; i++) {
      const from = i % 2 ? bob : alice;
      const body = { to: from === alice ? 'bob' : 'alice', content: `ping ${i}`, clientMsgId: `c-${i}` };
      expect((await talk(broker.url, from, body)).status).toBe(200);
    }
    const refused = await talk(broker.url, alice, { to: 'bob', content: 'thanks!' });
    expect(refused.status).toBe(423);
    expect(refused.body.code).toBe('conversation_held');
    expect(refused.body.error).toMatch(/^The conversation "direct:alice:bob" is on hold/);

    const socket = await connect(broker.url, bob);
    socket.send({ type: 'talk', ref: 'r1', conversationId: 'direct:alice:bob', content: 'no, thank you!' });
    const frame = await socket.frame('error', (f) => f.ref === 'r1');
    expect(frame.code).toBe('conversation_held');
    socket.close();
    // A retry of a message stored before the hold is answered as the duplicate it is.
    const retry = await talk(broker.url, alice, { to: 'bob', content: 'ping 0', clientMsgId: 'c-0' });
    expect(retry.body).toMatchObject({ messageId: 1, duplicate: true });

    // Each member's conversation list says it is held.
    for (const who of [alice, bob]) {
      const list = await api(broker.url, 'GET', `/conversations/${who.partnerId}`, { secret: who.secret });
      expect(list.body.conversations).toEqual([expect.objectContaining({ id: 'direct:alice:bob', held: true })]);
    }

    const owner = { 'x-duo-token': broker.broker.ownerToken };
    const holds = await api(broker.url, 'GET', '/holds', { headers: owner });
    expect(holds.body.holds).toEqual([
      expect.objectContaining({ conversationId: 'direct:alice:bob', messages: 4, windowSeconds: 60 }),
    ]);

    // The hold survives a restart of the broker on the same database.
    const first = broker;
    await first.broker.close();
    broker = await startBroker({ loopGuard: '4/60s', dbPath: first.dbPath });
    onTestFinished(() => rmSync(first.dir, { recursive: true, force: true }));
    expect((await talk(broker.url, alice, { to: 'bob', content: 'after restart' })).status).toBe(423);
    const again = { 'x-duo-token': broker.broker.ownerToken };
    expect((await api(broker.url, 'GET', '/holds', { headers: again })).body.holds).toHaveLength(1);

    expect((await api(broker.url, 'POST', '/conversations/direct:bob:alice/resume', {})).status).toBe(401);
    const resumed = await api(broker.url, 'POST', '/conversations/direct:bob:alice/resume', { headers: again });
    expect(resumed.body).toEqual({ conversationId: 'direct:alice:bob', resumed: true });
    expect((await talk(broker.url, alice, { to: 'bob', content: 'resumed' })).status).toBe(200);
    expect((await api(broker.url, 'GET', '/holds', { headers: again })).body.holds).toEqual([]);
    const list = await api(broker.url, 'GET', '/conversations/alice', { secret: alice.secret });
    expect(list.body.conversations[0].held).toBe(false);
    const unknown = await api(broker.url, 'POST', '/conversations/group_000000/resume', { headers: again });
    expect(unknown.status).toBe(404);
  });

  it('lets a human message reset the budget and lift the hold', async () => {
    broker = await startBroker({ loopGuard: '3/60s' });
    const alice = await register(broker.url, 'alice');
    const bob = await register(broker.url, 'bob');
    const login = await consoleLogin(broker, 'ada');
    const group = await api(broker.url, 'POST', '/conversations', {
      secret: alice.secret,
      body: { name: 'Pair', participants: ['bob'] },
    });
    const conversationId = group.body.conversation.id;
    const say = (who: typeof alice, content: string) => talk(broker!.url, who, { conversationId, content });
    for (const who of [alice, bob, alice]) expect((await say(who, 'x')).status).toBe(200);
    expect((await say(bob, 'x')).status).toBe(423);
    const human = await consoleApi(broker, login, 'POST', '/console/api/talk', { conversationId, content: 'Stop.' });
    expect(human.status).toBe(200);
    for (const who of [bob, alice, bob]) expect((await say(who, 'ok')).status).toBe(200);
    expect((await say(alice, 'x')).status).toBe(423);
  });

  it('keeps two agents held when they open a new group or write to each other directly', async () => {
    broker = await startBroker({ loopGuard: '4/60s' });
    const alice = await register(broker.url, 'alice');
    const bob = await register(broker.url, 'bob');
    for (let i = 0; i < 4; i++) {
      const from = i % 2 ? bob : alice;
      expect((await talk(broker.url, from, { to: from === alice ? 'bob' : 'alice', content: `${i}` })).status).toBe(
        200,
      );
    }
    expect((await talk(broker.url, alice, { to: 'bob', content: 'thanks!' })).status).toBe(423);
    const group = await api(broker.url, 'POST', '/conversations', {
      secret: alice.secret,
      body: { name: 'Fresh start', participants: ['bob'] },
    });
    const conversationId = group.body.conversation.id as string;
    const escaped = await talk(broker.url, alice, { conversationId, content: 'thanks again!' });
    expect(escaped.status).toBe(423);
    expect(escaped.body.error).toContain(`"${conversationId}" is on hold`);
    const owner = { 'x-duo-token': broker.broker.ownerToken };
    const holds = await api(broker.url, 'GET', '/holds', { headers: owner });
    expect(holds.body.holds.map((h: Hold) => h.conversationId).sort()).toEqual(
      [conversationId, 'direct:alice:bob'].sort(),
    );

    // The hold of the set, and the budget, survive a restart (the holds are stored).
    const first = broker;
    await first.broker.close();
    broker = await startBroker({ loopGuard: '4/60s', dbPath: first.dbPath });
    onTestFinished(() => rmSync(first.dir, { recursive: true, force: true }));
    const second = await api(broker.url, 'POST', '/conversations', {
      secret: bob.secret,
      body: { name: 'Another fresh start', participants: ['alice'] },
    });
    const again = await talk(broker.url, bob, { conversationId: second.body.conversation.id, content: 'hi' });
    expect(again.status).toBe(423);

    // One resume lifts every hold of the pair.
    const ownerAgain = { 'x-duo-token': broker.broker.ownerToken };
    const resumed = await api(broker.url, 'POST', `/conversations/${conversationId}/resume`, { headers: ownerAgain });
    expect(resumed.body.resumed).toBe(true);
    expect((await api(broker.url, 'GET', '/holds', { headers: ownerAgain })).body.holds).toEqual([]);
    expect((await talk(broker.url, alice, { to: 'bob', content: 'resumed' })).status).toBe(200);
  });

  it('never holds one agent sending 100 progress reports to another', async () => {
    broker = await startBroker({ loopGuard: '4/60s' });
    const alice = await register(broker.url, 'alice');
    const bob = await register(broker.url, 'bob');
    expect((await talk(broker.url, bob, { to: 'alice', content: 'Please build it and report.' })).status).toBe(200);
    for (let i = 0; i < 100; i++) {
      expect((await talk(broker.url, alice, { to: 'bob', content: `progress ${i}%` })).status).toBe(200);
    }
    expect((await talk(broker.url, bob, { to: 'alice', content: 'Thanks.' })).status).toBe(200);
  });

  it('lets agents talk freely when switched off', async () => {
    broker = await startBroker({ loopGuard: 'off' });
    const alice = await register(broker.url, 'alice');
    const bob = await register(broker.url, 'bob');
    for (let i = 0; i < 60; i++) {
      const from = i % 2 ? bob : alice;
      expect((await talk(broker.url, from, { to: from === alice ? 'bob' : 'alice', content: `${i}` })).status).toBe(
        200,
      );
    }
  });

  it('stops two real partners answering each other as fast as they can after the default budget', async () => {
    broker = await startBroker({ loopGuard: DEFAULT_LOOP_GUARD });
    const [alice, bob] = await Promise.all([
      startPartner(broker.url, { partnerId: 'alice' }),
      startPartner(broker.url, { partnerId: 'bob' }),
    ]);
    try {
      const started = Date.now();
      expect((await alice.call('talk', { message: 'Thanks for the review!', to: 'bob' })).isError).toBe(false);
      let sent = 1;
      let turn = bob;
      let refusal = '';
      for (;;) {
        expect((await turn.call('listen', { timeout: 5 })).text).toContain('<peer_message');
        const reply = await turn.call('talk', { message: `Thank you too! (${sent})` });
        if (reply.isError) {
          refusal = reply.text;
          break;
        }
        sent += 1;
        turn = turn === bob ? alice : bob;
      }
      const ms = Date.now() - started;
      figure('loop guard: two partners answering each other at machine speed', {
        heldAfter: sent,
        ms,
        messagesPerSecond: (sent / ms) * 1000,
      });
      expect(sent).toBe(20);
      expect(refusal).toMatch(/its agents sent 20 messages within 5 min/);
    } finally {
      await Promise.all([alice.close(), bob.close()]);
    }
  });

  it('reaches the model as a tool error that says why and how it resumes', async () => {
    broker = await startBroker({ loopGuard: '2/60s' });
    const bob = await register(broker.url, 'bob');
    const alice = await startPartner(broker.url, { partnerId: 'alice' });
    try {
      expect((await alice.call('talk', { message: 'one', to: 'bob' })).isError).toBe(false);
      expect((await talk(broker.url, bob, { to: 'alice', content: 'two' })).status).toBe(200);
      const held = await alice.call('talk', { message: 'three', to: 'bob' });
      expect(held.isError).toBe(true);
      expect(held.text).toMatch(/is on hold: its agents sent 2 messages within 1 min/);
      expect(held.text).toMatch(/Your message was not sent/);
      expect(held.text).toContain('duo resume direct:alice:bob');
    } finally {
      await alice.close();
    }
  });
});
