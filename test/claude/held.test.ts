/**
 * The loop guard and the idle wake, through a real interactive Claude Code: a message left unread
 * in a conversation the broker holds does not wake the session (a woken model could not answer
 * anyway, and waking it is how two agents keep a loop going); a message elsewhere still does.
 */
import { describe, expect, it } from 'vitest';
import { CLAUDE_CODE_LATEST } from '../helpers/claude/claude-code.ts';
import { text } from '../helpers/claude/fake-api.ts';
import { claudeFixture } from '../helpers/claude/fixture.ts';
import { sleep, waitFor } from '../helpers/scale.ts';

/** Two agent turns per window: the third without a human holds the conversation. */
const use = claudeFixture({ versions: [CLAUDE_CODE_LATEST], broker: { loopGuard: '2/5m' } });

describe(`Claude Code ${CLAUDE_CODE_LATEST}, interactive, loop guard 2/5m`, () => {
  it('a held conversation does not wake an idle session; another conversation does', async (ctx) => {
    const { api, home, peer, name } = use(ctx, CLAUDE_CODE_LATEST, { tmux: true });
    const [bob, carol] = await Promise.all([peer('bob'), peer('carol')]);
    const alice = home.project(name('alice'));
    const unreadInHeld = 'pong: and one more thing about the cache';
    let held: { status: number; body: { code?: string } } | undefined;
    let conversationId = '';
    api.setModel(async (turn) => {
      if (held === undefined) {
        // While alice's model works, she and bob use up the budget (two turns), and the next
        // turn, alice answering, is refused: bob's message stays unread in a held conversation.
        const mine = await alice.rest().send({ to: bob.id }, 'ping: is the cache warm?');
        conversationId = mine.conversationId;
        await bob.send({ conversationId }, unreadInHeld);
        held = await alice.rest().trySend({ conversationId }, 'ping again');
      }
      return text(turn.has('from carol') ? 'Carol wrote.' : 'Done for now.');
    });
    const session = await alice.interactive({ api });
    await session.type('Check the cache with bob.');
    const first = await api.waitForText('Check the cache with bob.');
    await waitFor(() => first.request.repliedAt !== undefined, 10_000, 'the first answer');
    expect(held?.status, JSON.stringify(held?.body)).toBe(423);
    expect(held?.body.code).toBe('conversation_held');
    expect(await alice.rest().unread(conversationId), 'unread in the held conversation').toBe(1);

    await sleep(4_000);
    expect(
      api.turns(first.request.n).map((t) => t.lastText().slice(0, 300)),
      'model requests after the turn ended with only the held conversation unread',
    ).toEqual([]);

    // The waiter is alive: a message in another conversation wakes the session.
    const fromCarol = 'from carol: lunch at noon?';
    await carol.send({ to: alice.name }, fromCarol);
    await api.waitForText(fromCarol, { after: first.request.n, timeoutMs: 20_000 });
  }, 90_000);
});
