/**
 * What the console lists, one page at a time: conversations (newest activity first) with their
 * members' unread counts, the newest message cut short and any hold; partners with presence and
 * status. A page costs a fixed number of queries whatever the number of messages.
 */
import type {
  ConsoleConversation,
  ConsoleConversationsReply,
  ConsolePartnersReply,
} from '../../shared/console-protocol.ts';
import { DuoError } from '../../shared/errors.ts';
import type { LoopGuard } from '../loop-guard.ts';
import type { ConsoleStore, ConversationActivity } from './store.ts';

/** Characters of the newest message shown in the list. */
const PREVIEW_CHARS = 160;

export interface Presence {
  isOnline(partnerId: string): boolean;
}

export class ConsoleViews {
  constructor(
    private readonly store: ConsoleStore,
    private readonly guard: LoopGuard,
    private readonly presence: Presence,
  ) {}

  /** Conversations after the cursor `after`, newest activity first; `viewer`'s own unread count. */
  async conversations(viewer: string, after: string | undefined, limit: number): Promise<ConsoleConversationsReply> {
    const all = (await this.store.conversationActivity()).sort(byActivity);
    let start = 0;
    if (after !== undefined) {
      const cursor = parseCursor(after);
      start = all.findIndex((c) => byActivity(c, cursor) > 0);
      if (start === -1) start = all.length;
    }
    const page = all.slice(start, start + limit);
    const more = start + limit < all.length;
    return {
      conversations: await this.summarize(viewer, page),
      next: more && page.length > 0 ? cursorOf(page.at(-1)!) : null,
      total: all.length,
    };
  }

  async conversation(viewer: string, conversationId: string): Promise<ConsoleConversation> {
    const row = await this.store.conversation(conversationId);
    if (!row) throw new DuoError('unknown_conversation', `There is no conversation "${conversationId}".`);
    const [summary] = await this.summarize(viewer, [row]);
    return summary!;
  }

  async partners(after: string | undefined, limit: number): Promise<ConsolePartnersReply> {
    const rows = await this.store.partnersPage(after, limit + 1);
    const page = rows.slice(0, limit);
    return {
      partners: page.map((p) => ({
        id: p.id,
        name: p.name,
        kind: p.kind,
        online: this.presence.isOnline(p.id),
        status: p.status,
        lastSeen: p.last_seen,
      })),
      next: rows.length > limit ? page.at(-1)!.id : null,
    };
  }

  private async summarize(viewer: string, page: ConversationActivity[]): Promise<ConsoleConversation[]> {
    const ids = page.map((c) => c.id);
    const lastIds = page.map((c) => c.lastMessageId).filter((id): id is number => id !== null);
    const [members, previews] = await Promise.all([
      this.store.membersWithUnread(ids),
      this.store.previews(lastIds, PREVIEW_CHARS),
    ]);
    const byId = new Map(previews.map((p) => [p.id, p]));
    return page.map((c) => {
      const own = members.filter((m) => m.conversationId === c.id);
      const preview = c.lastMessageId === null ? undefined : byId.get(c.lastMessageId);
      return {
        id: c.id,
        kind: c.kind,
        name: c.name,
        members: own.map((m) => ({ id: m.partnerId, unread: m.unread })),
        unread: own.find((m) => m.partnerId === viewer)?.unread ?? null,
        lastMessageId: c.lastMessageId,
        lastMessageAt: preview?.createdAt ?? null,
        preview: preview ? { from: preview.sender, content: preview.content } : null,
        hold: this.guard.get(c.id) ?? null,
      };
    });
  }
}

/** Newest activity first; conversations without messages last; ties by id. */
function byActivity(a: Pick<ConversationActivity, 'id' | 'lastMessageId'>, b: typeof a): number {
  return (b.lastMessageId ?? 0) - (a.lastMessageId ?? 0) || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);
}

/** `<newest message id>.<conversation id>`: conversation ids never contain a dot. */
function cursorOf(c: ConversationActivity): string {
  return `${c.lastMessageId ?? 0}.${c.id}`;
}

function parseCursor(text: string): Pick<ConversationActivity, 'id' | 'lastMessageId'> {
  const match = /^(\d{1,15})\.(.+)$/.exec(text);
  if (!match)
    throw new DuoError('bad_request', 'Invalid "after": pass the "next" value of the previous page as it is.');
  return { lastMessageId: Number(match[1]), id: match[2]! };
}
