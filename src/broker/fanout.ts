/**
 * Hands a committed message to every member but its sender, however each is reachable: its live
 * session gets it pushed, its waiting long-polls wake up, and an offline member's CLAUDE.md
 * notice is brought up to date. The store already holds the message, so a member reachable in
 * none of these ways reads it later.
 */
import type { Message } from '../shared/protocol.ts';
import type { ServiceHooks } from './hooks.ts';
import type { Membership } from './membership.ts';
import type { OfflineNotices } from './offline-notice.ts';
import type { Presence } from './presence.ts';
import type { SessionRegistry } from './sessions.ts';
import type { Wakeups } from './wakeups.ts';

export class Fanout {
  constructor(
    private readonly membership: Membership,
    private readonly sessions: SessionRegistry,
    private readonly wakeups: Wakeups,
    private readonly presence: Pick<Presence, 'isOnline'>,
    private readonly notices: Pick<OfflineNotices, 'schedule'>,
    private readonly hooks: Pick<ServiceHooks, 'committed'> = {},
  ) {}

  /** Called once per committed message, in id order. */
  publish(message: Message): void {
    this.hooks.committed?.(message);
    for (const recipient of this.membership.members(message.conversationId)) {
      if (recipient === message.from) continue;
      this.sessions.get(recipient)?.deliver(message);
      this.wakeups.wake(recipient);
      if (!this.presence.isOnline(recipient)) this.notices.schedule(recipient);
    }
  }
}
