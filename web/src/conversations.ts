/**
 * The conversation list: every conversation on the broker, newest activity first, loaded a
 * page at a time (only loaded rows exist in the page). Live messages move a conversation to the
 * top and update its preview; unread counts are read again from the broker shortly after, and
 * shortly after a member's read cursor moved (the watch stream's `read`).
 */
import type { ConsoleConversation, ConsoleConversationsReply, Hold } from '../../src/shared/console-protocol.ts';
import type { Message } from '../../src/shared/protocol.ts';
import { api, query } from './api.ts';
import { h, replace } from './dom.ts';
import { clock, directPair, plural, unreadText } from './format.ts';

const PAGE = 50;
const REFRESH_DELAY_MS = 1_500;

export interface ListHost {
  me: string;
  open(conversationId: string): void;
  /** A conversation's summary changed (counts, hold, members). */
  changed(conversation: ConsoleConversation): void;
  error(error: unknown): void;
}

export class ConversationList {
  readonly element: HTMLElement;
  private readonly items = new Map<string, ConsoleConversation>();
  private readonly rows = new Map<string, HTMLLIElement>();
  private readonly list = h('ul', { class: 'conversations' });
  private readonly count = h('span', { class: 'count' });
  private readonly more = h('button', { class: 'more', type: 'button', text: 'Load more conversations' });
  private readonly refreshTimers = new Map<string, number>();
  private next: string | null = null;
  private total = 0;
  private selected: string | undefined;
  private loading = false;

  constructor(private readonly host: ListHost) {
    this.more.addEventListener('click', () => void this.loadMore());
    this.list.addEventListener('scroll', () => {
      if (this.list.scrollTop + this.list.clientHeight >= this.list.scrollHeight - 40) void this.loadMore();
    });
    this.element = h(
      'section',
      { class: 'panel conversations-panel' },
      h('h2', {}, 'Conversations ', this.count),
      this.list,
      this.more,
    );
  }

  get(conversationId: string): ConsoleConversation | undefined {
    return this.items.get(conversationId);
  }

  /** Loads the next page (the first one on the first call). */
  async loadMore(): Promise<void> {
    if (this.loading || (this.next === null && this.items.size > 0)) return;
    this.loading = true;
    try {
      const page = await api<ConsoleConversationsReply>(
        'GET',
        `/console/api/conversations${query({ limit: PAGE, after: this.next ?? undefined })}`,
      );
      this.total = page.total;
      this.next = page.next;
      for (const conversation of page.conversations) if (!this.items.has(conversation.id)) this.upsert(conversation);
      this.renderCount();
    } catch (error) {
      this.host.error(error);
    } finally {
      this.loading = false;
    }
  }

  /** Fetches one conversation (new, or changed) and shows it in its place. */
  async fetch(conversationId: string): Promise<ConsoleConversation | undefined> {
    try {
      const { conversation } = await api<{ conversation: ConsoleConversation }>(
        'GET',
        `/console/api/conversations/${encodeURIComponent(conversationId)}`,
      );
      if (!this.items.has(conversationId)) this.total += 1;
      this.upsert(conversation);
      this.renderCount();
      return conversation;
    } catch (error) {
      this.host.error(error);
      return undefined;
    }
  }

  onMessage(message: Message): void {
    const known = this.items.get(message.conversationId);
    if (!known) {
      void this.fetch(message.conversationId);
      return;
    }
    this.upsert({
      ...known,
      lastMessageId: message.id,
      lastMessageAt: message.createdAt,
      preview: { from: message.from, content: message.content.slice(0, 160) },
      members: known.members.map((m) => (m.id === message.from ? m : { ...m, unread: m.unread + 1 })),
      unread: known.unread === null || message.from === this.host.me ? known.unread : known.unread + 1,
    });
    this.refreshSoon(message.conversationId);
  }

  setHold(conversationId: string, hold: Hold | null): void {
    const known = this.items.get(conversationId);
    if (known) this.upsert({ ...known, hold });
    else if (hold) void this.fetch(conversationId);
  }

  /** The human read everything up to the newest message of the conversation. */
  markRead(conversationId: string): void {
    const known = this.items.get(conversationId);
    if (known && known.unread) this.upsert({ ...known, unread: 0 });
  }

  select(conversationId: string | undefined): void {
    if (this.selected) this.rows.get(this.selected)?.classList.remove('selected');
    this.selected = conversationId;
    if (conversationId) this.rows.get(conversationId)?.classList.add('selected');
  }

  refreshSoon(conversationId: string): void {
    if (this.refreshTimers.has(conversationId)) return;
    this.refreshTimers.set(
      conversationId,
      window.setTimeout(() => {
        this.refreshTimers.delete(conversationId);
        void this.fetch(conversationId);
      }, REFRESH_DELAY_MS),
    );
  }

  upsert(conversation: ConsoleConversation): void {
    this.items.set(conversation.id, conversation);
    const row = this.renderRow(conversation);
    const old = this.rows.get(conversation.id);
    this.rows.set(conversation.id, row);
    old?.remove();
    // Newest activity first: find the first row that is older.
    const key = conversation.lastMessageId ?? 0;
    let before: HTMLLIElement | null = null;
    for (const candidate of this.list.children) {
      const other = this.items.get((candidate as HTMLElement).dataset.id ?? '');
      if (other && (other.lastMessageId ?? 0) < key) {
        before = candidate as HTMLLIElement;
        break;
      }
    }
    this.list.insertBefore(row, before);
    this.host.changed(conversation);
  }

  private renderRow(c: ConsoleConversation): HTMLLIElement {
    const pair = directPair(c.id);
    const title = pair ? conversationTitle(pair, this.host.me) : c.name;
    const badges = h('span', { class: 'badges' });
    if (c.hold)
      badges.appendChild(h('span', { class: 'badge held', text: 'on hold', title: 'The loop guard holds it' }));
    if (c.unread)
      badges.appendChild(h('span', { class: 'badge unread', text: unreadText(c.unread), title: 'unread for you' }));
    const members = pair ? 'direct' : plural(c.members.length, 'member');
    const row = h(
      'li',
      {
        class: `conversation${c.id === this.selected ? ' selected' : ''}${c.hold ? ' is-held' : ''}`,
        data: { id: c.id },
      },
      h(
        'button',
        { type: 'button', onclick: () => this.host.open(c.id) },
        h('span', { class: 'line' }, h('span', { class: 'name', text: title }), badges),
        h(
          'span',
          { class: 'line meta' },
          h('span', { text: `${members} · ${c.id}` }),
          h('time', { text: clock(c.lastMessageAt), title: c.lastMessageAt ?? '' }),
        ),
        c.preview
          ? h('span', { class: 'preview' }, h('b', { text: `${c.preview.from}: ` }), c.preview.content)
          : h('span', { class: 'preview empty', text: 'no messages yet' }),
      ),
    );
    return row;
  }

  private renderCount(): void {
    replace(this.count, `(${this.total})`);
    this.more.hidden = this.next === null;
  }
}

/** "alice ↔ bob", or just "alice" when the other side is me. */
export function conversationTitle(pair: [string, string], me: string): string {
  if (pair[0] === me) return pair[1];
  if (pair[1] === me) return pair[0];
  return `${pair[0]} ↔ ${pair[1]}`;
}
