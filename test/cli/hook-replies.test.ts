/**
 * The hooks read the broker's replies without zod (a hook must start fast); their checks must
 * accept exactly what the shared zod schemas accept. Real replies of a real broker, then every
 * field of them missing, of another type, and an unknown field beside them.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { conversationsReplyOf, listenReplyOf } from '../../src/cli/hooks/replies.ts';
import { ConversationsReply, ListenReply } from '../../src/shared/protocol.ts';
import { startBroker, type TestBroker } from '../helpers/broker.ts';
import { api, register, talk } from '../helpers/clients.ts';

const WRONG = [null, 'text', -1, 1.5, true, [], {}];

/** `reply` with one thing changed at `path`: each field removed, replaced, or an extra key added. */
function* variants(value: unknown, path: string[] = []): Generator<{ what: string; value: unknown }> {
  if (Array.isArray(value)) {
    for (const [index, item] of value.entries())
      for (const v of variants(item, [...path, String(index)]))
        yield { what: v.what, value: value.map((x, i) => (i === index ? v.value : x)) };
    return;
  }
  if (typeof value !== 'object' || value === null) {
    for (const wrong of WRONG) yield { what: `${path.join('.')} = ${JSON.stringify(wrong)}`, value: wrong };
    return;
  }
  const object = value as Record<string, unknown>;
  yield { what: `${path.join('.')} + extra`, value: { ...object, extra: 1 } };
  for (const key of Object.keys(object)) {
    const { [key]: _removed, ...rest } = object;
    yield { what: `${[...path, key].join('.')} removed`, value: rest };
    for (const v of variants(object[key], [...path, key])) yield { what: v.what, value: { ...object, [key]: v.value } };
  }
}

describe('the hooks read replies as the zod schemas do', () => {
  let broker: TestBroker;
  let listenReply: unknown;
  let conversationsReply: unknown;

  beforeAll(async () => {
    broker = await startBroker();
    const [ann, bob] = await Promise.all([register(broker.url, 'ann'), register(broker.url, 'bob')]);
    await talk(broker.url, ann, { to: 'bob', content: 'hello' });
    await api(broker.url, 'POST', '/conversations', {
      secret: bob.secret,
      body: { name: 'team', participants: ['ann'] },
    });
    listenReply = (await api(broker.url, 'GET', '/listen/bob?timeout=0&peek=1', { secret: bob.secret })).body;
    conversationsReply = (await api(broker.url, 'GET', '/conversations/bob', { secret: bob.secret })).body;
  });
  afterAll(() => broker.close());

  it('accepts the broker’s real replies, and reads them as zod does', () => {
    expect((listenReply as { messages: unknown[] }).messages).toHaveLength(1);
    expect((conversationsReply as { conversations: unknown[] }).conversations).toHaveLength(2);
    expect(listenReplyOf(listenReply)).toEqual(ListenReply.parse(listenReply));
    expect(conversationsReplyOf(conversationsReply)).toEqual(ConversationsReply.parse(conversationsReply));
  });

  it.each([
    ['listen', () => listenReply, listenReplyOf, ListenReply] as const,
    ['conversations', () => conversationsReply, conversationsReplyOf, ConversationsReply] as const,
  ])('agrees with zod on every altered %s reply', (_name, reply, check, schema) => {
    let altered = 0;
    for (const { what, value } of variants(reply())) {
      altered++;
      const parsed = schema.safeParse(value);
      expect(check(value), what).toEqual(parsed.success ? parsed.data : undefined);
    }
    expect(altered).toBeGreaterThan(50);
  });

  it('reads a summary without held (older brokers) as not held, as zod does', () => {
    const old = structuredClone(conversationsReply) as { conversations: Record<string, unknown>[] };
    for (const c of old.conversations) delete c.held;
    expect(conversationsReplyOf(old)?.conversations.every((c) => c.held === false)).toBe(true);
    expect(conversationsReplyOf(old)).toEqual(ConversationsReply.parse(old));
  });
});
