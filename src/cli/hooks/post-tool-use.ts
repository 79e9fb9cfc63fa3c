/**
 * PostToolUse: while the model works, messages that arrived reach it after its next tool call, as
 * `additionalContext` (digest.ts), and are marked read once printed.
 *
 * This runs after every tool call, so it decides cheaply, before loading anything that talks to
 * the broker, whether to look at all: not after duo's own tools (their results already carry the
 * unread line), and at most once per HOOK_LOOK_INTERVAL_MS per session (the time of the last look
 * is in the session's state file; two tool calls that end together do not both look). Held
 * conversations are left out: their agents were looping.
 */
import type { CliContext } from '../command.ts';
import type { HookInput } from './input.ts';
import { lookIntervalMs } from './settings.ts';
import { claimLook, sessionKey } from './state.ts';

/** Tools of the duo MCP server, as Claude Code names them. */
const DUO_TOOL = /^mcp__duo__/;

export async function run(ctx: CliContext, input: HookInput, broker: string | undefined): Promise<number> {
  if (input.tool_name !== undefined && DUO_TOOL.test(input.tool_name)) return 0;
  const key = sessionKey(input.session_id);
  if (!claimLook(ctx.env, key, lookIntervalMs(ctx.env))) return 0;
  const { lookOnce } = await import('./look.ts');
  await lookOnce(ctx, input, broker, 'PostToolUse', key, { skipHeld: true });
  return 0;
}
