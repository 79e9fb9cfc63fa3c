/**
 * The waiter's loop (wait.ts runs it): peeking long-polls for the partner of the session's
 * project until unread messages make a digest worth waking the session for.
 *
 * Messages it will not wake for (the partner's own, held conversations, those announced before)
 * are skipped with `above`: the next long-poll leaves them out instead of answering with them at
 * once, again and again. A message at or below `above` in another conversation cannot be missed:
 * a reply holds the oldest unread messages in id order, so it would have come in the same reply.
 * What it wakes with is built from all unread messages, not only those above: marking read moves
 * a conversation's cursor over everything below what was shown, so a skipped message of that
 * conversation must stop the digest there (digest.ts), not be marked read unseen.
 * Errors (broker down, no secret yet) are retried with a backoff until the deadline, quietly.
 */
import { Backoff } from '../../client/backoff.ts';
import { HOOK_RETRY_BASE_MS, HOOK_RETRY_CAP_MS, HOOK_WAIT_POLL_SECONDS, LISTEN_BATCH } from '../../shared/defaults.ts';
import { DuoError } from '../../shared/errors.ts';
import type { CliContext } from '../command.ts';
import type { Digest } from './digest.ts';
import type { HookInput } from './input.ts';
import { prepare, sessionPartner, type ActingAs } from './look.ts';

export interface Found {
  acting: ActingAs;
  digest: Digest;
}

/** The first digest worth a wake, or undefined once `deadline` (epoch ms) passes without one. */
export async function waitForDigest(
  ctx: CliContext,
  input: HookInput,
  broker: string | undefined,
  sessionKey: string,
  deadline: number,
): Promise<Found | undefined> {
  const backoff = new Backoff({ baseMs: HOOK_RETRY_BASE_MS, capMs: HOOK_RETRY_CAP_MS });
  let acting: ActingAs | undefined;
  let above = 0;
  let pollSeconds = HOOK_WAIT_POLL_SECONDS;
  for (;;) {
    const remaining = deadline - Date.now();
    if (remaining < 1_000) return undefined;
    const timeout = Math.min(pollSeconds, Math.floor(remaining / 1000));
    let asked = false;
    try {
      // Again after a failure: the partner may have registered meanwhile.
      acting ??= sessionPartner(ctx, input, broker);
      const started = Date.now();
      asked = true;
      const { messages } = await acting.client.listen({
        timeout,
        peek: true,
        limit: LISTEN_BATCH,
        ...(above > 0 ? { above } : {}),
      });
      if (messages.length === 0) {
        // Answered long before its timeout with nothing: a newer listen of this partner took its
        // place (the broker keeps a few per partner). Let that one be, for a while.
        if (Date.now() - started < (timeout * 1000) / 2) await sleep(Math.min(backoff.next(), remaining));
        else backoff.reset();
        continue;
      }
      backoff.reset();
      const unread =
        above === 0 ? messages : (await acting.client.listen({ timeout: 0, peek: true, limit: LISTEN_BATCH })).messages;
      const { digest } = await prepare(acting, unread, ctx.env, sessionKey, { skipHeld: true });
      if (digest.text !== '') return { acting, digest };
      above = Math.max(above, ...messages.map((m) => m.id));
    } catch (error) {
      if (asked && error instanceof DuoError && error.code === 'bad_request' && pollSeconds > 1) {
        // A broker whose longest listen is shorter than ours.
        pollSeconds = Math.max(1, Math.floor(pollSeconds / 2));
        continue;
      }
      if (error instanceof DuoError && error.code === 'unauthorized') acting = undefined;
      await sleep(Math.min(backoff.next(), Math.max(0, deadline - Date.now())));
    }
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
