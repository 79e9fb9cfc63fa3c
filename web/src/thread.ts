/**
 * One conversation: its members with presence and unread counts, the loop guard's hold with a
 * resume button, the messages (the newest page first, older pages when scrolled to the top,
 * new ones as they are committed) with each one's delivery receipts, and the composer that
 * sends as the human. Message text is set as text: a `<script>` an agent sends is shown, never run.
 */
import type { ConsoleConversation, PushedFrame, ReadFrame } from '../../src/shared/console-protocol.ts';
import type { HistoryMessage, HistoryReply, Message } from '../../src/shared/protocol.ts';
import { api, query } from './api.ts';
import { h, replace } from './dom.ts';
import { budget, clock, directPair, unreadText } from './format.ts';
import { composer, type ComposerHost, type ComposerTarget as Target } from './composer.ts';
import { conversationTitle } from './conversations.ts';
import { Receipts } from './receipts.ts';

const PAGE = 50;
const READ_DELAY_MS = 300;

export interface ThreadHost extends ComposerHost {
  isOnline(partnerId: string): boolean;
  read(conversationId: string): void;
}

export class Thread {
  readonly element: HTMLElement;
  private readonly header = h('header', { class: 'thread-header' });
  private readonly banner = h('div', { class: 'hold-banner', ariaLive: 'polite' });
  private readonly older = h('button', { class: 'more older', type: 'button', text: 'Load older messages' });
  private readonly list = h('ol', { class: 'messages' });
  private readonly scroller = h('div', { class: 'scroller' }, this.older, this.list);
  private readonly composer = h('div', { class: 'composer' });
  private readonly receipts = new Receipts();
  private target: Target | undefined;
  private oldest: number | undefined;
  private newest = 0;
  private hasMore = false;
  private loadingOlder = false;
  private readTimer: number | undefined;

  constructor(private readonly host: ThreadHost) {
    this.older.addEventListener('click', () => void this.loadOlder());
    this.scroller.addEventListener('scroll', () => {
      if (this.scroller.scrollTop < 40 && this.hasMore) void this.loadOlder();
    });
    this.element = h('main', { class: 'thread' }, this.header, this.banner, this.scroller, this.composer);
    this.empty();
  }

  get conversationId(): string | undefined {
    return this.target && 'conversation' in this.target ? this.target.conversation.id : undefined;
  }

  get newTo(): string | undefined {
    return this.target && 'newTo' in this.target ? this.target.newTo : undefined;
  }

  async show(conversation: ConsoleConversation): Promise<void> {
    this.target = { conversation };
    this.oldest = undefined;
    this.newest = 0;
    this.receipts.reset(conversation.id);
    replace(this.list);
    // Shown once the first page says there is more.
    this.older.hidden = true;
    this.renderHeader();
    this.renderComposer();
    try {
      const page = await api<HistoryReply>(
        'GET',
        `/console/api/conversations/${encodeURIComponent(conversation.id)}/messages${query({ limit: PAGE })}`,
      );
      if (this.conversationId !== conversation.id) return;
      this.hasMore = page.hasMore;
      for (const message of page.messages) this.append(message);
      this.older.hidden = !page.hasMore;
      this.scroller.scrollTop = this.scroller.scrollHeight;
      this.markReadSoon();
    } catch (error) {
      this.host.error(error);
    }
  }

  /** A first message to a partner the human has no conversation with yet. */
  showNew(partnerId: string): void {
    this.target = { newTo: partnerId };
    this.receipts.reset(undefined);
    replace(this.list);
    this.older.hidden = true;
    replace(this.header, h('h2', { text: `New message to ${partnerId}` }));
    replace(this.banner);
    this.banner.hidden = true;
    this.renderComposer();
  }

  /** The summary changed (unread counts, hold, members). */
  update(conversation: ConsoleConversation): void {
    if (this.conversationId !== conversation.id) return;
    this.target = { conversation };
    this.renderHeader();
  }

  presenceChanged(partnerId: string): void {
    const conversation = this.target && 'conversation' in this.target ? this.target.conversation : undefined;
    if (conversation?.members.some((m) => m.id === partnerId)) this.renderHeader();
  }

  onMessage(message: Message): void {
    if (message.conversationId !== this.conversationId || message.id <= this.newest) return;
    const atBottom = this.scroller.scrollTop + this.scroller.clientHeight >= this.scroller.scrollHeight - 60;
    this.append(message);
    if (atBottom || message.from === this.host.me) this.scroller.scrollTop = this.scroller.scrollHeight;
    this.markReadSoon();
  }

  /** A member's read cursor moved: its receipts turn seen. */
  onRead(frame: ReadFrame): void {
    this.receipts.read(frame);
  }

  /** A partner's session was handed what it had not read: its receipts turn pushed. */
  onPushed(frame: PushedFrame): void {
    this.receipts.pushed(frame);
  }

  /** No conversation chosen: nothing of one shows (no hold strip, no paging, no composer). */
  private empty(): void {
    replace(
      this.header,
      h('h2', { text: 'Choose a conversation' }),
      h('p', { class: 'hint', text: 'Pick a conversation on the left, or message a partner to start one.' }),
    );
    this.banner.hidden = true;
    this.older.hidden = true;
    this.composer.hidden = true;
  }

  private append(message: Message | HistoryMessage): void {
    this.list.appendChild(this.renderMessage(message));
    this.newest = Math.max(this.newest, message.id);
    this.oldest ??= message.id;
  }

  private async loadOlder(): Promise<void> {
    const id = this.conversationId;
    if (!id || this.loadingOlder || !this.hasMore || this.oldest === undefined) return;
    this.loadingOlder = true;
    try {
      const page = await api<HistoryReply>(
        'GET',
        `/console/api/conversations/${encodeURIComponent(id)}/messages${query({ limit: PAGE, before: this.oldest })}`,
      );
      if (this.conversationId !== id) return;
      const height = this.scroller.scrollHeight;
      const first = this.list.firstChild;
      for (const message of page.messages) this.list.insertBefore(this.renderMessage(message), first);
      if (page.messages[0]) this.oldest = page.messages[0].id;
      this.hasMore = page.hasMore;
      this.older.hidden = !page.hasMore;
      // Keep the messages on screen where they were.
      this.scroller.scrollTop += this.scroller.scrollHeight - height;
    } catch (error) {
      this.host.error(error);
    } finally {
      this.loadingOlder = false;
    }
  }

  private renderMessage(message: Message | HistoryMessage): HTMLLIElement {
    const mine = message.from === this.host.me;
    const members = this.target && 'conversation' in this.target ? this.target.conversation.members : [];
    return h(
      'li',
      { class: `message${mine ? ' mine' : ''}`, data: { id: String(message.id) } },
      h(
        'div',
        { class: 'message-head' },
        h('span', { class: 'from', text: message.from }),
        h('time', { text: clock(message.createdAt), title: message.createdAt }),
        h('span', { class: 'id', text: `#${message.id}` }),
      ),
      h('div', { class: 'text', text: message.content }),
      this.receipts.element(
        message,
        members.map((m) => m.id),
      ),
    );
  }

  private renderHeader(): void {
    if (!this.target || !('conversation' in this.target)) return;
    const c = this.target.conversation;
    const pair = directPair(c.id);
    const members = h('ul', { class: 'members' });
    for (const member of c.members) {
      const online = this.host.isOnline(member.id);
      members.appendChild(
        h(
          'li',
          { class: `member${online ? ' online' : ''}`, data: { id: member.id } },
          h('span', { class: 'dot', title: online ? 'online' : 'offline' }),
          member.id,
          member.unread
            ? h('span', { class: 'unread', text: `${unreadText(member.unread)} unread`, title: 'not yet read by them' })
            : null,
        ),
      );
    }
    replace(
      this.header,
      h('h2', { text: pair ? conversationTitle(pair, this.host.me) : c.name }),
      h('div', { class: 'conversation-id', text: c.id }),
      members,
    );
    this.renderBanner(c);
  }

  private renderBanner(c: ConsoleConversation): void {
    if (!c.hold) {
      replace(this.banner);
      this.banner.hidden = true;
      return;
    }
    const resume = h('button', { type: 'button', class: 'resume', text: 'Resume' });
    resume.addEventListener('click', () => {
      resume.disabled = true;
      api('POST', `/conversations/${encodeURIComponent(c.id)}/resume`, {}).catch((error: unknown) => {
        resume.disabled = false;
        this.host.error(error);
      });
    });
    this.banner.hidden = false;
    replace(
      this.banner,
      h(
        'p',
        {},
        h('strong', { text: 'On hold. ' }),
        `The loop guard stopped this conversation: its agents sent ${budget(c.hold.messages, c.hold.windowSeconds)} with no message from a human (since ${clock(c.hold.heldAt)}). Agents get an error until you resume it or write in it.`,
      ),
      resume,
    );
  }

  private renderComposer(): void {
    if (!this.target) return;
    replace(this.composer, ...composer(this.host, this.target));
    this.composer.hidden = false;
  }

  private markReadSoon(): void {
    const c = this.target && 'conversation' in this.target ? this.target.conversation : undefined;
    if (!c || c.unread === null || document.visibilityState !== 'visible') return;
    window.clearTimeout(this.readTimer);
    this.readTimer = window.setTimeout(() => {
      if (this.conversationId !== c.id || this.newest === 0) return;
      api('POST', `/console/api/conversations/${encodeURIComponent(c.id)}/read`, { upTo: this.newest })
        .then(() => this.host.read(c.id))
        .catch((error: unknown) => this.host.error(error));
    }, READ_DELAY_MS);
  }
}
