/**
 * An idle interactive Claude Code (its turn ended, waiting for the user) learns of a message
 * without channels: the Stop hook `duo hook wait` that `duo install` adds waits for it and wakes
 * the session, whose next model request holds the text. One wake per message.
 */
import { describe, expect, it } from 'vitest';
import { CLAUDE_CODE_LATEST, CLAUDE_CODE_OLDEST } from '../helpers/claude/claude-code.ts';
import { text, type Turn } from '../helpers/claude/fake-api.ts';
import { claudeFixture } from '../helpers/claude/fixture.ts';
import { sleep, waitFor } from '../helpers/scale.ts';

const use = claudeFixture({ versions: [CLAUDE_CODE_LATEST, CLAUDE_CODE_OLDEST] });

/** How long a test watches for a wake that must not come. */
const QUIET_MS = 4_000;

/** Resolves once the fake answered `turn` (its reply ends the turn when it is text only). */
async function answered(turn: Turn): Promise<void> {
  await waitFor(() => turn.request.repliedAt !== undefined, 10_000, `the answer to request ${turn.request.n}`);
}

describe.each([CLAUDE_CODE_LATEST, CLAUDE_CODE_OLDEST])('Claude Code %s, interactive', (version) => {
  it("an idle session wakes without channels: the next model request holds bob's message, once, and it counts as read", async (ctx) => {
    const { api, home, peer, name } = use(ctx, version, { tmux: true });
    const bob = await peer('bob');
    const alice = home.project(name('alice'));
    api.setModel(() => text('Waiting for bob.'));
    const session = await alice.interactive({ api });
    await session.type('Wait for news from bob.');
    const first = await api.waitForText('Wait for news from bob.');
    await answered(first);

    const news = 'Deploy finished: all green.';
    const sent = await bob.send({ to: alice.name }, news);
    const woken = await api.waitForText(news, { after: first.request.n, timeoutMs: 20_000 });
    expect(woken.count(news), 'times the message is shown in the wake request').toBe(1);
    expect(woken.request.text).toMatch(
      new RegExp(
        `<peer_message from="${bob.id}" conversation="${sent.conversationId}" id="${sent.messageId}"[^>]*>\\n${news}`,
      ),
    );
    // It reached the model, so the broker counts it read.
    await waitFor(async () => (await alice.rest().unread(sent.conversationId)) === 0, 10_000, 'the message read');
  }, 90_000);
});

describe(`Claude Code ${CLAUDE_CODE_LATEST}, interactive`, () => {
  const version = CLAUDE_CODE_LATEST;

  it('one wake per message: no second wake for a message already shown; the next message wakes once more', async (ctx) => {
    const { api, home, peer, name } = use(ctx, version, { tmux: true });
    const bob = await peer('bob');
    const alice = home.project(name('alice'));
    api.setModel(() => text('Noted.'));
    const session = await alice.interactive({ api });
    await session.type('Wait for bob.');
    await answered(await api.waitForText('Wait for bob.'));

    const one = 'First news: the build is green.';
    await bob.send({ to: alice.name }, one);
    const woken = await api.waitForText(one, { after: 0, timeoutMs: 20_000 });
    await answered(woken);
    // Another turn ends (the user asks something): the Stop hook runs again, with nothing new.
    await session.type('Anything else?');
    const asked = await api.waitForText('Anything else?', { after: woken.request.n });
    await answered(asked);
    expect(asked.count(one), 'the first message in the next turn (only as history)').toBe(1);
    await sleep(QUIET_MS);
    expect(
      api.turns(asked.request.n).map((t) => t.lastText().slice(0, 300)),
      'model requests after the idle turn end, with nothing new',
    ).toEqual([]);

    const two = 'Second news: the release is tagged.';
    await bob.send({ to: alice.name }, two);
    const again = await api.waitForText(two, { after: asked.request.n, timeoutMs: 20_000 });
    await answered(again);
    await sleep(QUIET_MS);
    expect(api.turns(asked.request.n), 'model requests after the second message').toHaveLength(1);
    expect(again.count(two)).toBe(1);
  }, 120_000);
});
