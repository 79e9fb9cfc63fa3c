/**
 * Hands a committed message to every member but its sender, however each is reachable: its live
 * session gets it pushed, its waiting long-polls wake up, and an offline member's CLAUDE.md
 * notice is brought up to date. The store already holds the message, so a member reachable in
 * none of these ways reads it later.
 */
import type { Message } from '../shared/protocol.ts';
import type { ServiceHooks } from './hooks.ts';
import type { Membership } from './membership.ts';
import type { BrokerMetrics } from './metrics.ts';
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
    /** Times each message from here to its push into a session. */
    private readonly metrics: Pick<BrokerMetrics, 'committed'>,
    private readonly hooks: Pick<ServiceHooks, 'committed' | 'cursorMoved' | 'pushed'> = {},
  ) {}

  /**
   * Per partner, the highest of `messages` its live session will be pushed the moment they are
   * published; the write path records these with the messages' own commit. `created` names the
   * members of conversations created in that commit, not yet in the membership.
   */
  livePushes(messages: readonly Message[], created: ReadonlyMap<string, readonly string[]>): Map<string, number> {
    const pushes = new Map<string, number>();
    for (const message of messages) {
      for (const recipient of created.get(message.conversationId) ?? this.membership.members(message.conversationId)) {
        if (recipient === message.from || !this.sessions.get(recipient)?.pushesAtOnce) continue;
        pushes.set(recipient, Math.max(pushes.get(recipient) ?? 0, message.id));
      }
    }
    return pushes;
  }

  /** The store now records these partners as pushed up to these ids. */
  recorded(pushes: ReadonlyMap<string, number>): void {
    for (const [partnerId, upTo] of pushes) {
      this.sessions.get(partnerId)?.recorded(upTo);
      this.hooks.pushed?.(partnerId, upTo);
    }
  }

  /**
   * Called once per committed message, in id order. `elsewhere`: another broker committed it and
   * keeps the offline notices of its recipients.
   */
  publish(message: Message, elsewhere = false, inOrder = true): void {
    this.metrics.committed(message.id);
    this.hooks.committed?.(message, inOrder);
    for (const recipient of this.membership.members(message.conversationId)) {
      if (recipient === message.from) continue;
      this.sessions.get(recipient)?.deliver(message);
      this.wakeups.wake(recipient);
      if (!elsewhere && !this.presence.isOnline(recipient)) this.notices.schedule(recipient);
    }
  }

  /**
   * `partnerId` read `conversationId` up to `upTo` (here or on another broker): its live session
   * is told, so a partner drops what reached its model through another client (a hook).
   */
  read(partnerId: string, conversationId: string, upTo: number): void {
    this.hooks.cursorMoved?.(partnerId, conversationId, upTo);
    this.sessions.get(partnerId)?.send({ type: 'read', conversationId, upTo });
  }
}
