/**
 * UserPromptSubmit: at each human turn, a digest of the messages the model has not seen
 * (digest.ts) as `additionalContext`, marked read once printed. Held conversations are shown too,
 * marked as held: a human is there to decide.
 *
 * A human turn makes the session busy, so the session's waiter (the Stop hook waiting to wake an
 * idle session) is ended first: what arrives during the turn comes with the next tool call, and
 * the next Stop starts a new waiter. Without this the waiter and this digest could show one
 * message twice. Claude Code also runs this hook when a waiter woke the session (with the wake as
 * the prompt); the wake marked what it showed read, so nothing is shown twice then either.
 */
import type { CliContext } from '../command.ts';
import type { HookInput } from './input.ts';
import { readState, sessionKey, writeState } from './state.ts';
import { endEarlierWaiter, endWaiter } from './waiter-lock.ts';

export async function run(ctx: CliContext, input: HookInput, broker: string | undefined): Promise<number> {
  const key = sessionKey(input.session_id);
  if (input.session_id !== undefined) {
    endWaiter(ctx.env, key);
    endEarlierWaiter(ctx.env, input.session_id);
  }
  // PostToolUse need not look again right after this.
  writeState(ctx.env, key, { ...readState(ctx.env, key), lastLook: Date.now() });
  const { lookOnce } = await import('./look.ts');
  await lookOnce(ctx, input, broker, 'UserPromptSubmit', key, { skipHeld: false });
  return 0;
}
