import { rmSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { JSONRPCMessageSchema } from '@modelcontextprotocol/sdk/types.js';
import { startBrokerProcess, tempDir, type BrokerProcess } from '../helpers/broker.ts';
import { waitUntil } from '../helpers/mcp-partner.ts';
import { callUntilOk, startStdioPartner, type StdioPartner } from '../helpers/stdio-partner.ts';

let broker: BrokerProcess;
let dir: string;
const children: StdioPartner[] = [];

beforeAll(async () => {
  dir = tempDir('duo-stdio-');
  broker = await startBrokerProcess({ dbPath: `${dir}/duo.db` });
});
afterAll(async () => {
  for (const child of children) if (child.child.exitCode === null) child.child.kill('SIGKILL');
  await broker.kill('SIGKILL');
  rmSync(dir, { recursive: true, force: true });
});

async function spawn(home: string, project: string, partnerId?: string): Promise<StdioPartner> {
  const child = await startStdioPartner(broker.url, { home, project, ...(partnerId ? { partnerId } : {}) });
  children.push(child);
  return child;
}

/** Message texts in a listen result, in the order shown. */
function texts(result: string): string[] {
  return [...result.matchAll(/<peer_message [^>]*>\n([^\n]*)\n<\/peer_message>/g)].map((m) => m[1]!);
}

function expectPureStdout(child: StdioPartner): void {
  expect(child.stdoutLines.length).toBeGreaterThan(0);
  for (const line of child.stdoutLines) {
    expect(JSONRPCMessageSchema.safeParse(JSON.parse(line)).success, line).toBe(true);
  }
}

describe('duo partner over stdio', () => {
  it('two partners exchange direct and group messages across a broker restart, without loss or duplicates', async () => {
    const alice = await spawn(tempDir('duo-home-'), 'alice');
    const bob = await spawn(tempDir('duo-home-'), 'bob');
    await callUntilOk(alice, 'list_partners');
    await callUntilOk(bob, 'list_partners');

    const sent: string[] = [];
    for (let i = 1; i <= 5; i++) {
      await callUntilOk(alice, 'talk', { message: `m${i}`, to: 'bob' });
      sent.push(`m${i}`);
    }
    const created = await callUntilOk(alice, 'create_conversation', { name: 'Pair', participants: ['bob'] });
    const groupId = /Created: (group_[a-z0-9]+)/.exec(created.text)![1]!;
    await callUntilOk(alice, 'talk', { message: 'g1', conversation: groupId });
    sent.push('g1');

    // Kill the broker once bob holds the messages: listen still answers from the inbox, and the
    // acks it owes the broker go out after the reconnect.
    await waitUntil(() => bob.channel.length === sent.length, 5_000, 'pushed to bob');
    await broker.kill('SIGKILL');
    const received: string[] = [];
    received.push(...texts((await bob.call('listen', { timeout: 5 })).text));
    expect(received).toHaveLength(sent.length);
    broker = await broker.restart();

    for (let i = 6; i <= 10; i++) {
      await callUntilOk(alice, 'talk', { message: `m${i}`, to: 'bob' });
      sent.push(`m${i}`);
    }
    await callUntilOk(alice, 'talk', { message: 'g2', conversation: groupId });
    sent.push('g2');

    const deadline = Date.now() + 15_000;
    while (received.length < sent.length && Date.now() < deadline) {
      const heard = await bob.call('listen', { timeout: 2 });
      if (!heard.isError) received.push(...texts(heard.text));
    }
    expect([...received].sort()).toEqual([...sent].sort());
    expect(new Set(received).size).toBe(received.length);
    // Per conversation, id order.
    expect(received.filter((t) => t.startsWith('m'))).toEqual(sent.filter((t) => t.startsWith('m')));

    // Everything bob listened to is read on the broker, including what was acked across the restart.
    await expect
      .poll(async () => (await callUntilOk(bob, 'list_conversations')).text.match(/ 0 unread/g)?.length, {
        timeout: 5_000,
      })
      .toBe(2);

    await bob.call('talk', { message: 'all good', to: 'alice' });
    await waitUntil(() => alice.channel.some((e) => e.content.includes('all good')), 5_000, 'channel event over stdio');

    expectPureStdout(alice);
    expectPureStdout(bob);
    await Promise.all([alice.stop(), bob.stop()]);
  });

  it('exits within a few seconds of stdin EOF and of SIGTERM', async () => {
    const home = tempDir('duo-home-');
    const first = await spawn(home, 'eof');
    await callUntilOk(first, 'list_partners');
    let started = Date.now();
    first.child.stdin.end();
    await first.exited;
    expect(Date.now() - started).toBeLessThan(3_500);

    const second = await spawn(home, 'eof');
    await callUntilOk(second, 'list_partners');
    started = Date.now();
    second.child.kill('SIGTERM');
    expect(await second.exited).toBe(0);
    expect(Date.now() - started).toBeLessThan(3_500);
  });

  it('a second session takes over without a reconnect loop', async () => {
    const home = tempDir('duo-home-');
    const first = await spawn(home, 'twin');
    await callUntilOk(first, 'list_partners');
    const second = await spawn(home, 'twin');
    await callUntilOk(second, 'list_partners');
    await waitUntil(() => first.stderr().includes('"code":4001'), 5_000, 'replaced close');
    const result = await first.call('list_partners');
    expect(result.isError).toBe(true);
    expect(result.text).toContain('Another Claude Code session took over partner "twin"');
    const connects = (first.stderr().match(/"msg":"registered"/g) ?? []).length;
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    expect((first.stderr().match(/disconnected from the broker/g) ?? []).length).toBe(1);
    expect((first.stderr().match(/"msg":"registered"/g) ?? []).length).toBe(connects);
    expect((await second.call('list_partners')).isError).toBe(false);
    await Promise.all([first.stop(), second.stop()]);
  });

  it('redelivers unread messages, flagged, after the partner restarts', async () => {
    const carolHome = tempDir('duo-home-');
    const dave = await spawn(tempDir('duo-home-'), 'dave');
    const carol = await spawn(carolHome, 'carol');
    await callUntilOk(carol, 'list_partners');
    await callUntilOk(dave, 'talk', { message: 'are you there?', to: 'carol' });
    await waitUntil(() => carol.channel.length === 1, 5_000, 'pushed to carol');
    await carol.stop();

    const again = await spawn(carolHome, 'carol');
    const heard = await callUntilOk(again, 'listen', { timeout: 5 });
    expect(heard.text).toContain('redelivered="true"');
    expect(texts(heard.text)).toEqual(['are you there?']);
    await Promise.all([again.stop(), dave.stop()]);
  });
});
