/**
 * A committed message reaches every member but its sender, each the way it is reachable: pushed
 * to a live session, handed to a waiting long-poll, counted in an offline member's CLAUDE.md.
 */
import { existsSync, mkdirSync, readFileSync, realpathSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { waitFor } from '../helpers/scale.ts';
import { startBroker, tempDir, type TestBroker } from '../helpers/broker.ts';
import { api, connect, register, talk, type Registered } from '../helpers/clients.ts';

let broker: TestBroker;

beforeEach(async () => {
  broker = await startBroker();
});
afterEach(async () => broker.close());

/** Waits until `check` holds (polling), or fails naming `what`. */
const until = (check: () => boolean, what: string) => waitFor(check, 3000, what, 25);

describe('fan-out of a group message', () => {
  it('pushes to the live member, wakes the long-polling one, notes it for the offline one, and skips the sender', async () => {
    const project = realpathSync(tempDir('duo-project-'));
    mkdirSync(join(project, '.git'));
    const alice: Registered = await register(broker.url, 'alice');
    const bob = await register(broker.url, 'bob');
    const carol = await register(broker.url, 'carol');
    await register(broker.url, 'dave', { projectPath: project });
    const created = await api(broker.url, 'POST', '/conversations', {
      secret: alice.secret,
      body: { name: 'Everyone', participants: ['bob', 'carol', 'dave'] },
    });
    const group: string = created.body.conversation.id;

    const senderSocket = await connect(broker.url, alice);
    const bobSocket = await connect(broker.url, bob);
    const carolListen = api(broker.url, 'GET', '/listen/carol?timeout=10', { secret: carol.secret });
    await new Promise((r) => setTimeout(r, 100));

    const sent = await talk(broker.url, alice, { conversationId: group, content: 'to all of you' });
    const id: number = sent.body.messageId;

    expect((await bobSocket.frame('message')).message).toMatchObject({ id, from: 'alice', conversationId: group });
    expect((await carolListen).body.messages).toMatchObject([{ id, from: 'alice' }]);
    const claudeMd = join(project, 'CLAUDE.md');
    await until(() => existsSync(claudeMd) && readFileSync(claudeMd, 'utf8').includes('1 unread'), "dave's notice");
    expect(readFileSync(claudeMd, 'utf8')).toContain(`- 1 from partner id "alice" in "${group}"`);
    // The sender's own socket gets no copy of what it sent.
    await new Promise((r) => setTimeout(r, 100));
    expect(senderSocket.messages()).toEqual([]);

    senderSocket.close();
    bobSocket.close();
  });
});
