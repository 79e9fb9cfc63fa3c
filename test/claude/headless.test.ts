/**
 * The duo tools inside a real, headless Claude Code (`claude -p`), driven by a scripted model
 * through the fake Messages API, with bob acting over REST: a question and its answer through
 * talk and listen, ask-and-wait in one `talk`, and the tools offered without a search.
 */
import { describe, expect, it } from 'vitest';
import { CLAUDE_CODE_LATEST, CLAUDE_CODE_OLDEST } from '../helpers/claude/claude-code.ts';
import { text, type Turn } from '../helpers/claude/fake-api.ts';
import { claudeFixture } from '../helpers/claude/fixture.ts';

const TALK = 'mcp__duo__talk';
const LISTEN = 'mcp__duo__listen';

const use = claudeFixture({ versions: [CLAUDE_CODE_LATEST, CLAUDE_CODE_OLDEST] });

/** The text of the newest result of `tool` the model was given, or undefined. */
function lastResult(turn: Turn, tool: string): string | undefined {
  return turn.results(tool).at(-1)?.text;
}

describe.each([CLAUDE_CODE_LATEST, CLAUDE_CODE_OLDEST])('Claude Code %s, headless', (version) => {
  it("talk → listen → reply: bob's answer reaches the model in the listen result, and its reply reaches bob", async (ctx) => {
    const { api, home, peer, name } = use(ctx, version);
    const bob = await peer('bob');
    const alice = home.project(name('alice'));
    api.setModel((turn) => {
      const talks = turn.results(TALK);
      if (talks.length === 0) return turn.call(TALK, { to: bob.id, message: 'Which port does the API listen on?' });
      if (turn.results(LISTEN).length === 0) return turn.call(LISTEN, { timeout: 60 });
      if (talks.length === 1) return turn.call(TALK, { to: bob.id, message: 'Thanks: 8080 it is.' });
      return text('Bob says 8080.');
    });
    const run = alice.headless('Ask bob which port the API listens on.', { api });
    expect(await run.duoStatus(), run.output()).toBe('connected');

    const question = await bob.receiveText('Which port');
    expect(question.from).toBe(alice.name);
    await bob.send({ conversationId: question.conversationId }, 'It listens on 8080 (see config/api.ts).');

    const heard = await api.waitFor((turn) => lastResult(turn, LISTEN)?.includes('It listens on 8080') ?? false, {
      what: "holding bob's answer in the listen result",
    });
    // Inside the envelope, named as bob's.
    expect(lastResult(heard, LISTEN)).toMatch(
      new RegExp(
        `<peer_message from="${bob.id}" conversation="${question.conversationId}" id="\\d+"[^>]*>\\nIt listens on 8080`,
      ),
    );
    const thanks = await bob.receiveText('8080 it is');
    expect(thanks.conversationId).toBe(question.conversationId);
    const result = await run.result();
    expect(result.subtype, run.output()).toBe('success');
    expect(result.result).toBe('Bob says 8080.');
    expect(await run.done).toBe(0);
  }, 90_000);
});
