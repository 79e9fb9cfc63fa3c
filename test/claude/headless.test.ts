/**
 * The duo tools inside a real, headless Claude Code (`claude -p`), driven by a scripted model
 * through the fake Messages API, with bob acting over REST: a question and its answer through
 * talk and listen, ask-and-wait in one `talk`, and the tools offered without a search.
 */
import { describe, expect, it } from 'vitest';
import { CLAUDE_CODE_LATEST, CLAUDE_CODE_OLDEST } from '../helpers/claude/claude-code.ts';
import { text } from '../helpers/claude/fake-api.ts';
import { claudeFixture, LISTEN, TALK } from '../helpers/claude/fixture.ts';

const use = claudeFixture({ versions: [CLAUDE_CODE_LATEST, CLAUDE_CODE_OLDEST] });

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

    const heard = await api.waitFor((turn) => turn.lastResult(LISTEN)?.includes('It listens on 8080') ?? false, {
      what: "holding bob's answer in the listen result",
    });
    // Inside the envelope, named as bob's.
    expect(heard.lastResult(LISTEN)).toMatch(
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

  it('duo tools are offered with their schemas in the first request, not deferred behind ToolSearch', async (ctx) => {
    const { api, home, name } = use(ctx, version);
    const alice = home.project(name('alice'));
    api.setModel(() => text('Nothing to do.'));
    const run = alice.headless('Say hello.', { api });
    expect(await run.duoStatus(), run.output()).toBe('connected');
    expect((await run.result()).subtype, run.output()).toBe('success');
    const first = api.turns()[0]!;
    // Tool search is on (as against Anthropic's API), and duo install's entry has alwaysLoad:
    // every duo tool comes with its schema (talk and listen also carry it on the tool itself).
    for (const tool of [TALK, LISTEN, 'mcp__duo__history', 'mcp__duo__list_partners']) {
      const offered = first.body.tools?.find((t) => t.name === tool);
      expect(offered, `${tool} among the first request's tools`).toBeDefined();
      expect(offered!.defer_loading, `${tool} deferred`).not.toBe(true);
      expect(offered!.input_schema).toMatchObject({ type: 'object', properties: expect.any(Object) });
      expect(first.isDeferred(tool)).toBe(false);
    }
  }, 60_000);
});

describe(`Claude Code ${CLAUDE_CODE_LATEST}, headless`, () => {
  const version = CLAUDE_CODE_LATEST;

  it("with Claude Code's own MCP wait and tool search on, duo is connected and in the first request", async (ctx) => {
    const { api, home, name } = use(ctx, version);
    const alice = home.project(name('alice'));
    api.setModel(() => text('Nothing to do.'));
    // MCP_CONNECTION_NONBLOCKING unset: headless Claude Code then waits only for servers whose
    // entry says alwaysLoad, as duo install's does.
    const run = alice.headless('Say hello.', { api, env: { MCP_CONNECTION_NONBLOCKING: '' } });
    expect(await run.duoStatus(), run.output()).toBe('connected');
    expect((await run.result()).subtype, run.output()).toBe('success');
    expect(api.turns()[0]!.body.tools?.some((t) => t.name === TALK)).toBe(true);
  }, 60_000);

  it("talk with wait: the question goes out and bob's answer comes back in the same tool result", async (ctx) => {
    const { api, home, peer, name } = use(ctx, version);
    const bob = await peer('bob');
    const alice = home.project(name('alice'));
    api.setModel((turn) => {
      if (turn.results(TALK).length === 0)
        return turn.call(TALK, { to: bob.id, message: 'Is the migration finished?', wait: 30 });
      return text('Done asking.');
    });
    const run = alice.headless('Ask bob whether the migration is finished.', { api });
    const question = await Promise.race([
      bob.receiveText('Is the migration finished?'),
      run.done.then(() => {
        throw new Error(
          `claude -p ended before bob got the question; talk said: ${api.turns().at(-1)?.lastResult(TALK)}`,
        );
      }),
    ]);
    await bob.send({ conversationId: question.conversationId }, 'Yes: finished at 10:42, no errors.');
    const answered = await api.waitFor((turn) => turn.results(TALK).length === 1, {
      what: 'answering the talk call',
      timeoutMs: 40_000,
    });
    const result = answered.lastResult(TALK)!;
    expect(result).toMatch(/Sent to .* as message #\d+/);
    expect(result).toMatch(
      new RegExp(
        `<peer_message from="${bob.id}" conversation="${question.conversationId}" id="\\d+"[^>]*>\\nYes: finished at 10:42`,
      ),
    );
    // One call did it: no listen was needed.
    expect(answered.results(LISTEN)).toHaveLength(0);
    expect((await run.result()).subtype, run.output()).toBe('success');
  }, 60_000);
});
