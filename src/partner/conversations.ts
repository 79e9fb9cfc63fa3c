/**
 * Whether a conversation id names something this partner can wait on. `listen` answers from
 * the local inbox, so without this check a mistyped or foreign id would wait out its whole
 * timeout and then report "no new messages", as if the conversation existed and were quiet.
 */
import { DuoError } from '../shared/errors.ts';
import { directMembers, otherMember } from '../shared/ids.ts';
import type { BrokerClient } from '../client/rest.ts';

/**
 * Resolves when `conversationId` is one of `me`'s conversations, or a direct conversation of
 * `me` with a registered partner (it starts with the first message); otherwise fails with what
 * to do instead.
 */
export async function requireConversation(client: BrokerClient, me: string, conversationId: string): Promise<void> {
  const { conversations } = await client.conversations();
  if (conversations.some((conversation) => conversation.id === conversationId)) return;
  const members = directMembers(conversationId);
  if (members?.includes(me)) {
    const other = otherMember(conversationId, me)!;
    const { partners } = await client.partners();
    if (partners.some((partner) => partner.id === other)) return;
    throw new DuoError(
      'unknown_partner',
      `No partner "${other}" is registered, so there is no conversation "${conversationId}". Call list_partners to see who exists.`,
    );
  }
  if (members) {
    throw new DuoError(
      'not_member',
      `"${conversationId}" is not your conversation: you can only listen to conversations you are in. Call list_conversations to see yours.`,
    );
  }
  throw new DuoError(
    'unknown_conversation',
    `You are in no conversation "${conversationId}" (it does not exist, or you are not a member). Call list_conversations to see yours.`,
  );
}
