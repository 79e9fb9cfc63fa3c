/**
 * The history tool shows the model, on its own messages, how far each got: pushed to a partner
 * whose session holds it, seen once that partner's model read it, stored for one that is not
 * connected. Real partners over the MCP SDK client, a real broker.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startBroker, type TestBroker } from '../helpers/broker.ts';
import { register } from '../helpers/clients.ts';
import { startPartner, waitUntil, type TestPartner } from '../helpers/mcp-partner.ts';
import { waitFor } from '../helpers/scale.ts';

let broker: TestBroker;
const open: TestPartner[] = [];

beforeAll(async () => {
  broker = await startBroker();
});
afterAll(async () => broker.close());
afterEach(async () => {
  await Promise.all(open.splice(0).map((p) => p.close()));
});

async function partner(partnerId: string): Promise<TestPartner> {
  const started = await startPartner(broker.url, { partnerId });
  open.push(started);
  return started;
}

describe('receipts in the history tool', () => {
  it('marks the model’s own messages pushed, then seen by bob; stored for carol, who is not connected', async () => {
    const alice = await partner('alice');
    const bob = await partner('bob');
    await register(broker.url, 'carol');
    const created = await alice.call('create_conversation', { name: 'Trio', participants: 'bob, carol' });
    const group = /Created: (group_[a-z0-9]+)/.exec(created.text)?.[1];
    expect(group, created.text).toBeDefined();

    expect((await alice.call('talk', { message: 'Did you both get this?', conversation: group })).isError).toBe(false);
    await waitUntil(() => bob.partner.held().length === 1, 5_000, 'bob to hold the message');
    const pushed = await alice.call('history', { conversation: group });
    expect(pushed.text).toMatch(/\] alice: ✓ pushed to bob · ○ stored for carol\n<peer_message from="alice"/);

    // bob's model reads it; bob answers. alice's history says bob saw hers, and shows no
    // receipts on bob's message (they are for the sender).
    expect((await bob.call('listen', { conversation: group, timeout: 0 })).text).toContain('Did you both get this?');
    await bob.call('talk', { message: 'Got it.', conversation: group });
    let text = '';
    await waitFor(
      async () => {
        text = (await alice.call('history', { conversation: group })).text;
        return text.includes('✓✓ seen by bob');
      },
      5_000,
      "bob's read to reach alice's history",
    );
    expect(text).toMatch(/\] alice: ✓✓ seen by bob · ○ stored for carol\n/);
    expect(text).toMatch(/\] bob:\n<peer_message from="bob"/);
  });
});
