/**
 * SessionEnd: ends the session's waiter (the Stop hook still waiting for a message, which some
 * Claude Code versions leave running when the session exits), forgets what the session's hooks
 * remembered, and tells the broker the partner went offline, fire-and-forget within about a
 * second. `/clear` ends nothing: the session and its partner go on.
 */
import { DuoError } from '../../shared/errors.ts';
import type { CliContext } from '../command.ts';
import type { HookInput } from './input.ts';
import { forgetSession, sessionKey } from './state.ts';
import { endEarlierWaiter, endWaiter } from './waiter-lock.ts';

/** Claude Code gives a session's exit little time: the request gives up after this. */
const REQUEST_MS = 800;

export async function run(ctx: CliContext, input: HookInput, broker: string | undefined): Promise<number> {
  if (input.reason === 'clear') return 0;
  if (input.session_id !== undefined) {
    const key = sessionKey(input.session_id);
    endWaiter(ctx.env, key);
    endEarlierWaiter(ctx.env, input.session_id);
    forgetSession(ctx.env, key);
  }
  const { sessionPartner } = await import('./look.ts');
  let acting;
  try {
    acting = sessionPartner(ctx, input, broker, REQUEST_MS);
  } catch (error) {
    if (error instanceof DuoError && error.code === 'unauthorized') return 0;
    throw error;
  }
  await acting.client.unregister();
  return 0;
}
