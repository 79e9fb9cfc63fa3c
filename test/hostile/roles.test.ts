/**
 * Roles on a team's broker: DUO_TOKEN is the join token every agent carries, the owner token is
 * held by the brokers' hosts and the humans. An agent with its partner secret and the join
 * token does what a partner may (register, talk, listen, read its own history, its socket) and
 * nothing more: every owner-only path (the watch stream, console logins, holds, resume) refuses
 * it with 403 `owner_required`, and a hold it runs into stays. The owner token still can do all
 * of it, and lets a request in where the join token would.
 */
import { afterEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { startBroker, type TestBroker } from '../helpers/broker.ts';
import { postgresSkipReason } from '../helpers/postgres.ts';
import { startTeam } from '../helpers/team.ts';
import { api, WsClient, type Registered } from '../helpers/clients.ts';
import { Watcher } from '../helpers/console.ts';
import { brokerConfigFromEnv } from '../../src/shared/config.ts';

const JOIN = 'join-token-every-agent-has-0123456789';

let broker: TestBroker;
afterEach(async () => broker?.close());

/** A request as an agent: the join token, and its secret when it has one. */
function asAgent(method: string, path: string, options: { secret?: string; body?: unknown } = {}) {
  return api(broker.url, method, path, { ...options, headers: { 'x-duo-token': JOIN } });
}

async function joinAs(partnerId: string): Promise<Registered> {
  const reply = await asAgent('POST', '/register', { body: { partnerId } });
  expect(reply.status, JSON.stringify(reply.body)).toBe(200);
  return { partnerId, secret: reply.body.secret };
}

/** The status and body of a refused /watch upgrade. */
function watchRefusal(headers: Record<string, string>): Promise<{ status: number; body: any }> {
  return new Promise((resolve, reject) => {
    const socket = new WebSocket(`${broker.url.replace(/^http/, 'ws')}/watch`, { headers });
    socket.once('open', () => reject(new Error('the watch stream opened')));
    socket.once('error', () => undefined);
    socket.once('unexpected-response', (_request, response) => {
      let text = '';
      response.on('data', (chunk: Buffer) => (text += chunk.toString()));
      response.on('end', () => resolve({ status: response.statusCode ?? 0, body: JSON.parse(text) }));
    });
  });
}

describe('an agent with the join token and its secret', () => {
  it('does what a partner may: creates its id, talks, listens, reads its history, holds a socket', async () => {
    broker = await startBroker({ token: JOIN });
    const alice = await joinAs('alice');
    const bob = await joinAs('bob');
    const sent = await asAgent('POST', '/talk', { secret: alice.secret, body: { to: 'bob', content: 'hi' } });
    expect(sent.status).toBe(200);
    const heard = await asAgent('GET', '/listen/bob?timeout=1', { secret: bob.secret });
    expect(heard.body.messages.map((m: { content: string }) => m.content)).toEqual(['hi']);
    const history = await asAgent('GET', `/conversations/${sent.body.conversationId}/messages`, {
      secret: alice.secret,
    });
    expect(history.status).toBe(200);
    expect((await asAgent('GET', '/partners', { secret: alice.secret })).status).toBe(200);
    const socket = new WsClient(broker.url, { 'x-duo-token': JOIN });
    await socket.opened;
    socket.send({ type: 'hello', partnerId: 'alice', secret: alice.secret, since: 0 });
    await socket.frame('welcome');
    socket.close();
  });

  it('is refused every owner-only path with 403 owner_required, and a hold it runs into stays', async () => {
    broker = await startBroker({ token: JOIN, loopGuard: '2/60s' });
    const alice = await joinAs('alice');
    const bob = await joinAs('bob');
    await asAgent('POST', '/talk', { secret: alice.secret, body: { to: 'bob', content: '1' } });
    await asAgent('POST', '/talk', { secret: bob.secret, body: { to: 'alice', content: '2' } });
    const held = await asAgent('POST', '/talk', { secret: alice.secret, body: { to: 'bob', content: '3' } });
    expect(held.status).toBe(423);

    const refusals = [
      await asAgent('POST', '/console/codes', { secret: alice.secret, body: { partnerId: 'mallory' } }),
      await asAgent('GET', '/holds', { secret: alice.secret }),
      await asAgent('POST', '/conversations/direct:alice:bob/resume', { secret: alice.secret, body: {} }),
    ];
    for (const reply of refusals) {
      expect(reply.status).toBe(403);
      expect(reply.body.code).toBe('owner_required');
      expect(reply.body.error).toMatch(/join token.*DUO_OWNER_TOKEN/s);
    }
    const watch = await watchRefusal({ 'x-duo-token': JOIN, authorization: `Bearer ${alice.secret}` });
    expect(watch).toMatchObject({ status: 403, body: { code: 'owner_required' } });

    // Still held, and no human "mallory" was made.
    expect((await asAgent('POST', '/talk', { secret: alice.secret, body: { to: 'bob', content: '4' } })).status).toBe(
      423,
    );
    const partners = await asAgent('GET', '/partners', { secret: alice.secret });
    expect(partners.body.partners.map((p: { id: string }) => p.id).sort()).toEqual(['alice', 'bob']);
  });

  it('is refused everything without the join token, with 401 token_required', async () => {
    broker = await startBroker({ token: JOIN });
    const alice = await joinAs('alice');
    const none = await api(broker.url, 'GET', '/partners', { secret: alice.secret });
    expect(none).toMatchObject({ status: 401, body: { code: 'token_required' } });
    expect((await watchRefusal({})).status).toBe(401);
    const codes = await api(broker.url, 'POST', '/console/codes', { body: { partnerId: 'ada' } });
    expect(codes).toMatchObject({ status: 401, body: { code: 'unauthorized' } });
  });
});

describe('the owner token on a team broker', () => {
  it('lets the request in, watches everything, mints logins, reads holds and resumes', async () => {
    broker = await startBroker({ token: JOIN, loopGuard: '2/60s' });
    const owner = { 'x-duo-token': broker.broker.ownerToken };
    const alice = await joinAs('alice');
    const bob = await joinAs('bob');
    const watcher = new Watcher(broker.url, owner);
    await watcher.opened;
    await asAgent('POST', '/talk', { secret: alice.secret, body: { to: 'bob', content: '1' } });
    await asAgent('POST', '/talk', { secret: bob.secret, body: { to: 'alice', content: '2' } });
    expect((await asAgent('POST', '/talk', { secret: alice.secret, body: { to: 'bob', content: '3' } })).status).toBe(
      423,
    );
    await watcher.until(
      (w) => w.messageIds().length === 2 && w.frames.some((f) => f.type === 'held'),
      'both and the hold',
    );
    watcher.close();

    const holds = await api(broker.url, 'GET', '/holds', { headers: owner });
    expect(holds.body.holds.map((h: { conversationId: string }) => h.conversationId)).toEqual(['direct:alice:bob']);
    const resumed = await api(broker.url, 'POST', '/conversations/direct:alice:bob/resume', {
      headers: owner,
      body: {},
    });
    expect(resumed.body).toEqual({ conversationId: 'direct:alice:bob', resumed: true });
    expect((await asAgent('POST', '/talk', { secret: alice.secret, body: { to: 'bob', content: '4' } })).status).toBe(
      200,
    );
    const login = await api(broker.url, 'POST', '/console/codes', { headers: owner, body: { partnerId: 'ada' } });
    expect(login.status).toBe(200);
  });

  it('can be given as DUO_OWNER_TOKEN instead of the file, and never equal to DUO_TOKEN', async () => {
    const shared = 'the-team-owner-token-0123456789abcdef';
    broker = await startBroker({ token: JOIN, ownerToken: shared });
    expect(broker.broker.ownerToken).toBe(shared);
    const codes = await api(broker.url, 'POST', '/console/codes', {
      headers: { 'x-duo-token': shared },
      body: { partnerId: 'ada' },
    });
    expect(codes.status).toBe(200);
    expect(() => brokerConfigFromEnv({ DUO_DB: '/tmp/x.db', DUO_TOKEN: JOIN, DUO_OWNER_TOKEN: JOIN })).toThrow(
      /every agent an owner/,
    );
    expect(brokerConfigFromEnv({ DUO_DB: '/tmp/x.db', DUO_OWNER_TOKEN: shared }).ownerToken).toBe(shared);
  });
});

const noPostgres = await postgresSkipReason();

describe.skipIf(noPostgres !== undefined)(
  `a team of two brokers on PostgreSQL${noPostgres ? ` (skipped: ${noPostgres})` : ''}`,
  () => {
    it('accepts the shared DUO_OWNER_TOKEN on both brokers, and the join token as owner on neither', async () => {
      const shared = 'the-team-owner-token-0123456789abcdef';
      const team = await startTeam(2, { token: JOIN, ownerToken: shared });
      try {
        for (const member of team.brokers) {
          const asOwner = await api(member.url, 'GET', '/holds', { headers: { 'x-duo-token': shared } });
          expect(asOwner.status).toBe(200);
          const asAgent = await api(member.url, 'GET', '/holds', { headers: { 'x-duo-token': JOIN } });
          expect(asAgent).toMatchObject({ status: 403, body: { code: 'owner_required' } });
        }
        const minted = await api(team.brokers[0]!.url, 'POST', '/console/codes', {
          headers: { 'x-duo-token': shared },
          body: { partnerId: 'ada' },
        });
        expect(minted.status).toBe(200);
      } finally {
        await team.close();
      }
    });
  },
);
