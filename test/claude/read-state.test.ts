/**
 * What counts as read, through a real Claude Code: a message pushed while the model was busy
 * (a channel event Claude Code drops) stays unread until its text reaches the model in the next
 * `talk` result, and a new session's SessionStart context previews what is unread.
 */
import { describe, expect, it } from 'vitest';
import { CLAUDE_CODE_LATEST } from '../helpers/claude/claude-code.ts';
import { text } from '../helpers/claude/fake-api.ts';
import { claudeFixture, TALK, untilPushed } from '../helpers/claude/fixture.ts';

const use = claudeFixture({ versions: [CLAUDE_CODE_LATEST] });

/** The envelope of a message from `from` holding `content`, as the model is shown it. */
function enveloped(from: string, conversationId: string, content: string): RegExp {
  const escape = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  return new RegExp(
    `<peer_message from="${escape(from)}" conversation="${escape(conversationId)}" id="\\d+"[^>]*>\\n${escape(content)}`,
  );
}

describe(`Claude Code ${CLAUDE_CODE_LATEST}`, () => {
  const version = CLAUDE_CODE_LATEST;

  it('a message dropped as a channel event stays unread and arrives in the next talk result', async (ctx) => {
    const { api, home, peer, name } = use(ctx, version);
    const bob = await peer('bob');
    const alice = home.project(name('alice'));
    const news = 'Heads-up: users.email is unique from now on.';
    let sent: { messageId: number; conversationId: string } | undefined;
    let unreadBeforeTalk: number | undefined;
    api.setModel(async (turn) => {
      if (turn.results(TALK).length > 0) return text('Told bob.');
      // Once talk can be called (after a tool search, on versions that defer it), bob writes while
      // the model is busy: alice's partner gets it pushed, Claude Code drops the channel event.
      if (turn.isLoaded(TALK) && sent === undefined) {
        sent = await bob.send({ to: alice.name }, news);
        await untilPushed(bob, sent.conversationId, sent.messageId, alice.name);
        unreadBeforeTalk = await alice.rest().unread(sent.conversationId);
      }
      return turn.call(TALK, { to: bob.id, message: 'Starting the migration now.' });
    });
    const run = alice.headless('Tell bob you are starting the migration.', { api });
    expect(await run.duoStatus(), run.output()).toBe('connected');
    expect((await run.result()).subtype, run.output()).toBe('success');

    expect(unreadBeforeTalk, 'unread before the talk call').toBe(1);
    const talked = api.turns().find((turn) => turn.results(TALK).length === 1)!;
    const result = talked.lastResult(TALK)!;
    expect(result).toMatch(/Sent to .* as message #\d+/);
    expect(result).toMatch(/before your message went out/i);
    expect(result).toMatch(enveloped(bob.id, sent!.conversationId, news));
    // It reached the model, so now it is read; and the send went out.
    expect(await alice.rest().unread(sent!.conversationId)).toBe(0);
    expect((await bob.receiveText('Starting the migration now.')).conversationId).toBe(sent!.conversationId);
  }, 60_000);

  it("a new session's SessionStart context previews an unread message, also when alice's own message is newer", async (ctx) => {
    const { api, home, peer, name } = use(ctx, version);
    const [bob, carol] = await Promise.all([peer('bob'), peer('carol')]);
    const alice = home.project(name('alice'));
    // alice's partner registers as a session's partner would, and no session runs now.
    const registered = await home.duo(['register'], alice.dir);
    expect(registered.code, registered.stderr).toBe(0);
    const fromBob = 'Preview me: the deploy moved to 17:00.';
    const fromCarol = 'Preview me too: the staging database is back.';
    const bobs = await bob.send({ to: alice.name }, fromBob);
    const carols = await carol.send({ to: alice.name }, fromCarol);
    // alice wrote to carol after carol's message (from another terminal): her own message is the newest there.
    await alice.rest().send({ conversationId: carols.conversationId }, 'Noted, thanks.');

    api.setModel(() => text('Hello.'));
    const run = alice.headless('Hello.', { api });
    expect((await run.result()).subtype, run.output()).toBe('success');
    const first = api.turns()[0]!;
    // What the SessionStart hook added, as Claude Code hands it to the model.
    const at = first.request.text.indexOf('SessionStart:startup hook success:');
    expect(at, 'the SessionStart context in the first request').toBeGreaterThanOrEqual(0);
    const context = first.request.text.slice(at, at + 3000);
    expect(context).toMatch(enveloped(bob.id, bobs.conversationId, fromBob));
    expect(context).toMatch(enveloped(carol.id, carols.conversationId, fromCarol));
  }, 60_000);
});
