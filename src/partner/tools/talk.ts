/**
 * talk: sends a message and returns once the broker stored it. The result also carries what the
 * conversation holds that the model has not read (so a reply never goes out blind a second
 * time), and with `wait` the first answer, so a question costs one call.
 */
import * as z from 'zod';
import { LISTEN_BATCH } from '../../shared/defaults.ts';
import { describeError, DuoError } from '../../shared/errors.ts';
import { MAX_LISTEN_SECONDS } from '../../shared/limits.ts';
import type { Message } from '../../shared/protocol.ts';
import { conversationLabel, formatMessage } from '../../client/display.ts';
import { resolveConversation, resolveTarget } from '../../client/resolve.ts';
import type { Partner } from '../partner.ts';
import type { WaitEnd } from '../wait.ts';
import type { SendTarget } from '../outbox.ts';
import { defineTool, ok, withProgress, type ToolExtra } from './common.ts';

export const talkTool = defineTool({
  name: 'talk',
  alwaysLoad: true,
  description: `Send a message to another partner (to: their partner id; opens your direct conversation) or to a conversation (conversation: an id from list_conversations, e.g. a group). With neither, replies in the conversation you last read or wrote in. Returns once the broker has stored it, with any unread messages of that conversation. wait: seconds to wait for the first reply (max ${MAX_LISTEN_SECONDS}), so asking and hearing back is one call.`,
  args: {
    message: z.string().min(1).describe('The message text (not empty).'),
    to: z.string().min(1).optional().describe('Partner id (or display name) to message directly.'),
    conversation: z.string().min(1).optional().describe('Conversation id, e.g. "direct:alice:bob" or "group_…".'),
    wait: z
      .number()
      .min(0)
      .optional()
      .describe(`Seconds to wait for a reply in this conversation (0 = do not wait, at most ${MAX_LISTEN_SECONDS}).`),
  },
  async run(partner, { message, to, conversation, wait }, extra) {
    const me = (await partner.requireIdentity()).partnerId;
    const target = await targetOf(partner, me, to, conversation);
    const sent = await partner.talk(message, target).catch((error: unknown) => {
      // The broker's sentence for an unknown id is written for REST clients; say it in tool terms.
      if (error instanceof DuoError && error.code === 'unknown_partner' && 'to' in target) {
        throw new DuoError(
          'unknown_partner',
          `No partner is registered as "${target.to}". Call list_partners to see the ids you can talk to.`,
        );
      }
      throw error;
    });
    const where = conversationLabel(sent.conversationId, me);
    const label = where === sent.conversationId ? sent.conversationId : `${where} (${sent.conversationId})`;
    const note = sent.duplicate ? ' (already stored earlier; not sent twice)' : '';
    const parts = [`✉️ Sent to ${label} as message #${sent.messageId}${note}.`];
    const seconds = Math.min(wait ?? 0, MAX_LISTEN_SECONDS);
    // The message is stored: a wait that cannot happen is said in the result, never as a failed send.
    const waited =
      seconds > 0
        ? await awaitReply(partner, sent.conversationId, sent.messageId, seconds, extra).catch((error: unknown) => {
            parts.push(`Could not wait for a reply: ${describeError(error)}`);
            return undefined;
          })
        : undefined;
    // What the conversation holds unread goes into this result, so it is read: unless nobody
    // will see the result (the call was cancelled).
    if (extra.signal.aborted) return { content: [] };
    const unread = partner.take(sent.conversationId, LISTEN_BATCH);
    const before = unread.filter((m) => m.id < sent.messageId);
    const after = unread.filter((m) => m.id > sent.messageId);
    if (before.length > 0)
      parts.push(`Before your message went out, ${senders(before)} wrote (unread until now):\n${lines(before)}`);
    if (after.length > 0)
      parts.push(
        `${waited ? `${senders(after)} replied` : `Since your message, ${senders(after)} wrote`}:\n${lines(after)}`,
      );
    else if (waited === 'message') parts.push('A reply arrived and was already shown to you in a Claude Duo notice.');
    else if (waited === 'timeout')
      parts.push(`No reply within ${seconds} s; call listen(conversation: "${sent.conversationId}") to keep waiting.`);
    const more = partner.held(sent.conversationId).length;
    if (more > 0) parts.push(`(${more} more unread in ${sent.conversationId} — call listen)`);
    return ok(partner, parts.join('\n\n'));
  },
});

/** Waits up to `seconds` for a message in `conversationId` newer than the model's own `sentId`. */
async function awaitReply(
  partner: Partner,
  conversationId: string,
  sentId: number,
  seconds: number,
  extra: ToolExtra,
): Promise<WaitEnd> {
  await partner.requireConnected();
  return withProgress(partner, seconds, extra, 'waiting for a reply', (signal) =>
    partner.waitForMessage(conversationId, seconds * 1000, signal, sentId),
  );
}

function senders(messages: readonly Message[]): string {
  return [...new Set(messages.map((m) => m.from))].join(', ');
}

function lines(messages: readonly Message[]): string {
  return messages.map((m) => formatMessage(m)).join('\n');
}

async function targetOf(
  partner: Partner,
  me: string,
  to: string | undefined,
  conversation: string | undefined,
): Promise<SendTarget> {
  if (to !== undefined && conversation !== undefined) {
    throw new DuoError('bad_request', 'Give either "to" (a partner id) or "conversation", not both.');
  }
  if (to !== undefined) return resolveTarget(to, me, async () => (await partner.partners()).partners);
  if (conversation !== undefined) return { conversationId: resolveConversation(conversation, me) };
  if (partner.lastConversation) return { conversationId: partner.lastConversation };
  throw new DuoError(
    'bad_request',
    'Say where the message goes: to: "<partner id>" (see list_partners) or conversation: "<id>" (see list_conversations).',
  );
}
