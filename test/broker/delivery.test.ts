import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { CloseCode, type Message } from '../../src/shared/protocol.ts';
import { startBroker, tempDir, type TestBroker } from '../helpers/broker.ts';
import { api, connect, register, talk, type Registered, type WsClient } from '../helpers/clients.ts';

let broker: TestBroker;

beforeEach(async () => {
  broker = await startBroker();
});
afterEach(async () => broker.close());

describe('delivery while the recipient keeps reconnecting', () => {
  it('delivers every acknowledged message exactly once, in order per conversation', async () => {
    const receiver = await register(broker.url, 'receiver');
    const senders: Registered[] = [];
    for (let i = 0; i < 4; i++) senders.push(await register(broker.url, `sender${i}`));

    const held = new Map<number, Message>();
    const received: Message[] = [];
    let client: WsClient | undefined;
    let sinceHeld = 0;
    const reconnect = async () => {
      client?.close();
      if (client) await client.closed;
      // Keep what the previous socket delivered; the new one must resume above it.
      for (const m of client?.messages() ?? []) {
        if (!held.has(m.id)) {
          held.set(m.id, m);
          received.push(m);
        } else throw new Error(`duplicate delivery of ${m.id}`);
      }
      sinceHeld = Math.max(sinceHeld, ...held.keys());
      client = await connect(broker.url, receiver, sinceHeld);
    };
    await reconnect();

    const perSender = 60;
    const acked: Array<{ id: number; from: string; n: number }> = [];
    const sending = senders.map(async (sender) => {
      for (let n = 0; n < perSender; n++) {
        const reply = await talk(broker.url, sender, {
          to: 'receiver',
          content: `${sender.partnerId}:${n}`,
          clientMsgId: `${sender.partnerId}-${n}`,
        });
        expect(reply.status).toBe(200);
        acked.push({ id: reply.body.messageId, from: sender.partnerId, n });
      }
    });
    let reconnects = 0;
    const churn = (async () => {
      while (acked.length < senders.length * perSender) {
        await new Promise((r) => setTimeout(r, 15));
        await reconnect();
        reconnects++;
      }
    })();
    await Promise.all([...sending, churn]);
    await client!.until((c) => c.messages().length + held.size >= acked.length, 5000, 'all messages');
    for (const m of client!.messages()) {
      expect(held.has(m.id), `duplicate ${m.id}`).toBe(false);
      held.set(m.id, m);
      received.push(m);
    }

    expect(held.size).toBe(acked.length);
    for (const { id } of acked) expect(held.has(id)).toBe(true);
    for (const sender of senders) {
      const sequence = received.filter((m) => m.from === sender.partnerId).map((m) => Number(m.content.split(':')[1]));
      expect(sequence).toEqual([...sequence].sort((a, b) => a - b));
    }
    expect(reconnects).toBeGreaterThan(3);
    client!.close();
  });
});

describe('batched commits', () => {
  it('gives concurrent sends distinct ids in commit order and pushes them in that order', async () => {
    const a = await register(broker.url, 'a');
    const b = await register(broker.url, 'b');
    const listener = await connect(broker.url, b);
    const replies = await Promise.all(
      Array.from({ length: 200 }, (_, i) => talk(broker.url, a, { to: 'b', content: `m${i}` })),
    );
    const ids = replies.map((r) => r.body.messageId as number);
    expect(new Set(ids).size).toBe(200);
    await listener.until((c) => c.messages().length === 200);
    const pushed = listener.messages().map((m) => m.id);
    expect(pushed).toEqual([...pushed].sort((x, y) => x - y));
    expect(new Set(pushed)).toEqual(new Set(ids));
    listener.close();
  });

  it('fails only the bad send in a batch, not its neighbours', async () => {
    const a = await register(broker.url, 'a');
    await register(broker.url, 'b');
    const [good, bad, alsoGood] = await Promise.all([
      talk(broker.url, a, { to: 'b', content: 'one' }),
      talk(broker.url, a, { conversationId: 'group_missing00', content: 'two' }),
      talk(broker.url, a, { to: 'b', content: 'three' }),
    ]);
    expect(good!.status).toBe(200);
    expect(bad!.status).toBe(404);
    expect(alsoGood!.status).toBe(200);
    const history = await api(broker.url, 'GET', '/conversations/direct:a:b/messages', { secret: a.secret });
    expect(history.body.messages.map((m: Message) => m.content)).toEqual(['one', 'three']);
  });
});

describe('graceful shutdown', () => {
  it('records what each live session was pushed, so a replay after restart flags it redelivered', async () => {
    const dir = tempDir();
    const dbPath = join(dir, 'duo.db');
    const first = await startBroker({ dbPath });
    const a = await register(first.url, 'a');
    const b = await register(first.url, 'b');
    const listener = await connect(first.url, b);
    await talk(first.url, a, { to: 'b', content: 'pushed, never acked' });
    await listener.until((c) => c.messages().length === 1);
    await first.broker.close();
    expect(await listener.closed).toBe(CloseCode.goingAway);

    const second = await startBroker({ dbPath });
    try {
      const again = await connect(second.url, b);
      await again.until((c) => c.messages().length === 1);
      expect(again.messages()[0]).toMatchObject({ content: 'pushed, never acked', redelivered: true });
      again.close();
    } finally {
      await second.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
