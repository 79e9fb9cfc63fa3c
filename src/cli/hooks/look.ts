/**
 * The part of the hooks that talks to the broker: act as the partner of the session's project,
 * turn unread messages into a digest (digest.ts), and afterwards mark read exactly what the digest
 * showed and remember what it only announced.
 *
 * Marking read uses the listen cursor of the shown messages (`after=` on a peeking listen): the
 * broker moves this partner's cursor in each conversation up to the last message shown, which is
 * safe because a digest shows a conversation's oldest unread messages only. Nothing else is
 * marked: an announced message stays unread until listen returns it.
 */
import { HOOK_REQUEST_TIMEOUT_MS, LISTEN_BATCH } from '../../shared/defaults.ts';
import { DuoError } from '../../shared/errors.ts';
import { encodeCursor } from '../../shared/listen-cursor.ts';
import type { ConversationSummary, Message } from '../../shared/protocol.ts';
import type { CliContext } from '../command.ts';
import { cliSetup, partnerCredentials, type CliSetup } from '../identity.ts';
import { HookBroker } from './broker.ts';
import { digest, type Digest } from './digest.ts';
import type { HookInput } from './input.ts';
import { readState, writeState } from './state.ts';

/** A hook acting as the partner of its session's project. */
export interface ActingAs {
  partnerId: string;
  client: HookBroker;
  setup: CliSetup;
}

/** The partner of the session's project (its `cwd`), with the secret from the user's store. */
export function sessionPartner(
  ctx: CliContext,
  input: HookInput,
  broker: string | undefined,
  timeoutMs = HOOK_REQUEST_TIMEOUT_MS,
): ActingAs {
  const setup = cliSetup(ctx, { broker, cwd: input.cwd });
  const credentials = partnerCredentials(setup);
  return { partnerId: credentials.partnerId, client: new HookBroker(setup, credentials, timeoutMs), setup };
}

export interface Prepared {
  digest: Digest;
  /** Messages left out because their conversation is held. */
  held: Message[];
}

/**
 * The digest of `messages` for the model: without the partner's own messages, without held
 * conversations when `skipHeld`, and without anything announced before in this session.
 */
export async function prepare(
  { client, partnerId: me }: ActingAs,
  messages: readonly Message[],
  env: CliContext['env'],
  sessionKey: string,
  options: { skipHeld: boolean },
): Promise<Prepared> {
  const mine = messages.filter((m) => m.from !== me);
  const conversations = new Map<string, ConversationSummary>();
  if (mine.length > 0) for (const c of (await client.conversations()).conversations) conversations.set(c.id, c);
  const isHeld = (m: Message) => options.skipHeld && conversations.get(m.conversationId)?.held === true;
  const announced = new Set(readState(env, sessionKey).announced);
  return {
    digest: digest({ me, messages: mine.filter((m) => !isHeld(m)), conversations, announced }),
    held: mine.filter(isHeld),
  };
}

/** After the digest reached its reader: marks read what it showed, remembers what it announced. */
export async function settle(
  { client }: ActingAs,
  { shown, announced }: Digest,
  env: CliContext['env'],
  sessionKey: string,
): Promise<void> {
  if (announced.length > 0) {
    const state = readState(env, sessionKey);
    writeState(env, sessionKey, { ...state, announced: [...state.announced, ...announced] });
  }
  if (shown.length > 0) await client.listen({ timeout: 0, peek: true, limit: 1, after: encodeCursor(shown) });
}

/**
 * One look for a digest hook: the unread messages now, as `additionalContext` on stdout for
 * `event`, then settled. Prints nothing when there is nothing new, and says nothing when the
 * project has no partner or the broker is down: this runs at every turn and tool call, and
 * SessionStart already said so once.
 */
export async function lookOnce(
  ctx: CliContext,
  input: HookInput,
  broker: string | undefined,
  event: 'PostToolUse' | 'UserPromptSubmit',
  sessionKey: string,
  options: { skipHeld: boolean },
): Promise<void> {
  let acting: ActingAs;
  let messages: Message[];
  try {
    acting = sessionPartner(ctx, input, broker);
    ({ messages } = await acting.client.listen({ timeout: 0, peek: true, limit: LISTEN_BATCH }));
  } catch (error) {
    if (error instanceof DuoError && (error.code === 'unauthorized' || error.code === 'unavailable')) return;
    throw error;
  }
  if (messages.length === 0) return;
  const { digest: result } = await prepare(acting, messages, ctx.env, sessionKey, options);
  if (result.text === '') return;
  ctx.out(`${JSON.stringify({ hookSpecificOutput: { hookEventName: event, additionalContext: result.text } })}\n`);
  await settle(acting, result, ctx.env, sessionKey);
}
