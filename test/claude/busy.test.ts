/**
 * A busy Claude Code (its model working through tool calls) gets a message at its next tool
 * call, without channels: the PostToolUse hook `duo hook post-tool-use` adds it as context right
 * after that tool's result, once, and it counts as read.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { CLAUDE_CODE_LATEST } from '../helpers/claude/claude-code.ts';
import { text, toolCall } from '../helpers/claude/fake-api.ts';
import { claudeFixture, untilPushed } from '../helpers/claude/fixture.ts';

// The hook looks at most every 10 s by default (and not within 10 s of the prompt's own digest);
// here it looks at every tool call, so the test needs no 10 s pause.
const use = claudeFixture({ versions: [CLAUDE_CODE_LATEST], env: { DUO_HOOK_LOOK_SECONDS: '0' } });

describe(`Claude Code ${CLAUDE_CODE_LATEST}, headless`, () => {
  it("a busy session gets bob's message with its next tool call's result", async (ctx) => {
    const { api, home, peer, name } = use(ctx, CLAUDE_CODE_LATEST);
    const bob = await peer('bob');
    const alice = home.project(name('alice'));
    const notes = join(alice.dir, 'NOTES.md');
    writeFileSync(notes, 'TODO: rotate the keys\n');
    const news = 'Stop: the keys were rotated an hour ago.';
    let sent: { messageId: number; conversationId: string } | undefined;
    api.setModel(async (turn) => {
      if (turn.results('Read').length > 0) return text('Read the notes.');
      // bob writes while alice's model is at work; its next step is a tool call (Read).
      sent = await bob.send({ to: alice.name }, news);
      await untilPushed(bob, sent.conversationId, sent.messageId, alice.name);
      return toolCall('Read', { file_path: notes });
    });
    const run = alice.headless('Read NOTES.md.', { api });
    expect((await run.result()).subtype, run.output()).toBe('success');

    const after = api.turns().find((turn) => turn.results('Read').length === 1);
    expect(after, 'a model request after the Read result').toBeDefined();
    expect(after!.lastResult('Read')).toContain('rotate the keys');
    expect(after!.count(news), "times bob's message is shown after the tool call").toBe(1);
    expect(after!.request.text).toMatch(
      new RegExp(`<peer_message from="${bob.id}" conversation="${sent!.conversationId}" id="${sent!.messageId}"`),
    );
    expect(await alice.rest().unread(sent!.conversationId)).toBe(0);
  }, 60_000);
});
