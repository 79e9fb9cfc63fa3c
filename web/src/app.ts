/**
 * The console once logged in: the header, the conversation and partner lists, the open
 * conversation, and the watch stream that keeps them all current.
 */
import type { ConsoleMe, WatchFrame } from '../../src/shared/console-protocol.ts';
import { api, ApiError, setPageKey } from './api.ts';
import { ConversationList } from './conversations.ts';
import { h, replace } from './dom.ts';
import { budget } from './format.ts';
import { groupForm, PartnerList } from './partners.ts';
import { Thread } from './thread.ts';
import { Watch } from './watch.ts';

export class App {
  readonly me: string;
  private readonly conversations: ConversationList;
  private readonly partners: PartnerList;
  private readonly thread: Thread;
  private readonly watch: Watch;
  private readonly live = h('span', { class: 'live', text: 'connecting…' });
  private readonly notice = h('div', { class: 'notice', ariaLive: 'assertive' });
  private asked: number | undefined;

  constructor(
    private readonly root: HTMLElement,
    private readonly profile: ConsoleMe,
  ) {
    this.me = profile.partnerId;
    const error = (e: unknown) => this.error(e);
    this.conversations = new ConversationList({
      me: this.me,
      open: (id) => void this.open(id),
      changed: (conversation) => this.thread.update(conversation),
      error,
    });
    this.partners = new PartnerList({
      me: this.me,
      message: (id) => void this.messagePartner(id),
      presenceChanged: (id) => this.thread.presenceChanged(id),
      error,
    });
    this.thread = new Thread({
      me: this.me,
      isOnline: (id) => this.partners.isOnline(id),
      sent: (id) => void this.afterSend(id),
      read: (id) => this.conversations.markRead(id),
      message: (id) => void this.messagePartner(id),
      error,
    });
    this.watch = new Watch({
      frame: (frame) => this.onFrame(frame),
      state: (live) => {
        this.live.className = live ? 'live on' : 'live';
        replace(this.live, live ? 'live' : 'reconnecting…');
      },
      failing: () => void this.checkSession(),
    });
  }

  async start(): Promise<void> {
    const guard = this.profile.loopGuard;
    replace(
      this.root,
      h(
        'header',
        { class: 'top' },
        h('h1', { text: 'Claude Duo' }),
        h('span', {
          class: 'you',
          text: `You are ${this.profile.name === this.me ? this.me : `${this.profile.name} (${this.me})`}`,
        }),
        h('span', {
          class: 'guard',
          text: guard ? `Loop guard: ${budget(guard.limit, guard.windowSeconds)} without a human` : 'Loop guard: off',
        }),
        this.live,
        h('button', {
          type: 'button',
          class: 'small logout',
          text: 'Log out',
          onclick: () => {
            this.watch.stop();
            api('POST', '/console/api/logout', {}).finally(() => {
              setPageKey(undefined);
              location.reload();
            });
          },
        }),
      ),
      this.notice,
      h(
        'div',
        { class: 'layout' },
        h(
          'aside',
          { class: 'side' },
          this.conversations.element,
          this.partners.element,
          groupForm({ created: (id) => void this.afterSend(id), error: (e) => this.error(e) }),
        ),
        this.thread.element,
      ),
    );
    await Promise.all([this.conversations.loadMore(), this.partners.loadMore()]);
    this.watch.start();
  }

  private onFrame(frame: WatchFrame): void {
    switch (frame.type) {
      case 'watching':
        // More was missed than the stream replays: read the lists again.
        if (this.asked !== undefined && frame.replayFrom > this.asked) location.reload();
        this.asked = frame.upTo;
        return;
      case 'message':
        this.asked = frame.message.id;
        this.conversations.onMessage(frame.message);
        this.thread.onMessage(frame.message);
        return;
      case 'presence':
        this.partners.onPresence(frame);
        return;
      case 'read':
        this.thread.onRead(frame);
        // Its unread count changed.
        if (this.conversations.get(frame.conversationId)) this.conversations.refreshSoon(frame.conversationId);
        return;
      case 'pushed':
        this.thread.onPushed(frame);
        return;
      case 'held':
      case 'released': {
        const id = frame.type === 'held' ? frame.hold.conversationId : frame.conversationId;
        this.conversations.setHold(id, frame.type === 'held' ? frame.hold : null);
        return;
      }
    }
  }

  private async open(conversationId: string): Promise<void> {
    const known = this.conversations.get(conversationId) ?? (await this.conversations.fetch(conversationId));
    if (!known) return;
    this.conversations.select(conversationId);
    await this.thread.show(known);
  }

  private async messagePartner(partnerId: string): Promise<void> {
    const [a, b] = [this.me, partnerId].sort();
    const conversationId = `direct:${a}:${b}`;
    const known =
      this.conversations.get(conversationId) ?? (await this.conversations.fetch(conversationId).catch(() => undefined));
    if (known) return this.open(conversationId);
    this.conversations.select(undefined);
    this.thread.showNew(partnerId);
  }

  /** After a send or a new group: open the conversation when it is not the one on screen. */
  private async afterSend(conversationId: string): Promise<void> {
    if (this.thread.conversationId === conversationId) return;
    await this.conversations.fetch(conversationId);
    await this.open(conversationId);
  }

  private async checkSession(): Promise<void> {
    try {
      await api('GET', '/console/api/me');
    } catch (error) {
      if (error instanceof ApiError && error.status === 401) {
        this.watch.stop();
        this.error(error);
      }
    }
  }

  error(error: unknown): void {
    const text = error instanceof Error ? error.message : String(error);
    replace(
      this.notice,
      h('p', { text }),
      h('button', { type: 'button', class: 'small', text: 'Dismiss', onclick: () => replace(this.notice) }),
    );
  }
}
