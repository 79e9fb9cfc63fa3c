import { describe, expect, it } from 'vitest';
import { Outbox, type OutboxRoutes } from '../../src/partner/outbox.ts';
import { DuoError } from '../../src/shared/errors.ts';
import type { TalkBody } from '../../src/shared/protocol.ts';

type Answer = 'ok' | DuoError;

/** Socket and REST stand-ins that answer from a script and record what they were asked. */
function routes(socketOpen: boolean, socketAnswers: Answer[], restAnswers: Answer[]) {
  const calls: Array<{ via: 'socket' | 'rest'; clientMsgId: string | undefined }> = [];
  const answer = (via: 'socket' | 'rest', body: TalkBody, script: Answer[]) => {
    calls.push({ via, clientMsgId: body.clientMsgId });
    const next = script.shift() ?? 'ok';
    if (next instanceof DuoError) return Promise.reject(next);
    const reply = { messageId: calls.length, conversationId: 'direct:a:b', createdAt: '', duplicate: false };
    return Promise.resolve({ type: 'sent' as const, ...reply });
  };
  const fake: OutboxRoutes = {
    socket: { isOpen: socketOpen, talk: (request) => answer('socket', request, socketAnswers) },
    rest: { talk: (body) => answer('rest', body, restAnswers) },
  };
  return { fake, calls };
}

const unavailable = () => new DuoError('unavailable', 'The connection dropped.');

describe('Outbox', () => {
  it('sends over the socket when it is open, else over REST', async () => {
    const open = routes(true, [], []);
    await new Outbox(open.fake).send('hi', { to: 'b' });
    expect(open.calls.map((c) => c.via)).toEqual(['socket']);
    const closed = routes(false, [], []);
    await new Outbox(closed.fake).send('hi', { to: 'b' });
    expect(closed.calls.map((c) => c.via)).toEqual(['rest']);
  });

  it('falls back to REST with the same clientMsgId when the socket drops mid-request', async () => {
    const { fake, calls } = routes(true, [unavailable()], []);
    const sent = await new Outbox(fake).send('hi', { to: 'b' });
    expect(sent.conversationId).toBe('direct:a:b');
    expect(calls.map((c) => c.via)).toEqual(['socket', 'rest']);
    expect(calls[1]!.clientMsgId).toBe(calls[0]!.clientMsgId);
  });

  it('keeps the clientMsgId of a send with an unknown outcome for the same text and target only', async () => {
    const { fake, calls } = routes(false, [], [unavailable()]);
    const outbox = new Outbox(fake);
    await expect(outbox.send('hi', { to: 'b' })).rejects.toThrow(/safe: it will not be sent twice/);
    await outbox.send('other text', { to: 'b' });
    await outbox.send('hi', { to: 'b' });
    await outbox.send('hi', { to: 'b' });
    const ids = calls.map((c) => c.clientMsgId);
    expect(ids[2]).toBe(ids[0]);
    expect(ids[1]).not.toBe(ids[0]);
    // Settled: a new send of the same text is a new message.
    expect(ids[3]).not.toBe(ids[0]);
  });

  it('passes a definite refusal through and forgets the clientMsgId', async () => {
    const { fake, calls } = routes(true, [new DuoError('not_member', 'You are not a member.')], []);
    const outbox = new Outbox(fake);
    await expect(outbox.send('hi', { conversationId: 'group_abcdef' })).rejects.toMatchObject({ code: 'not_member' });
    expect(calls.map((c) => c.via)).toEqual(['socket']);
    await outbox.send('hi', { conversationId: 'group_abcdef' });
    expect(calls[1]!.clientMsgId).not.toBe(calls[0]!.clientMsgId);
  });
});
