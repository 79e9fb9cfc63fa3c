/**
 * Fans out what the human watches: every committed message (in id order), presence changes,
 * loop-guard holds, and the progress behind delivery receipts (read cursors moving, pushes
 * recorded). A sink only receives; nothing here reads or moves a read cursor, claims a message
 * or touches a partner's session.
 */
import type { HeldFrame, Hold, PushedFrame, ReadFrame, ReleasedFrame } from '../shared/console-protocol.ts';
import type { Message, PresenceFrame } from '../shared/protocol.ts';

export type WatchEvent = PresenceFrame | HeldFrame | ReleasedFrame | ReadFrame | PushedFrame;

export interface WatchSink {
  message(message: Message): void;
  /** Messages may have been stored that were not handed over in order: read them from the store. */
  resync(): void;
  event(frame: WatchEvent): void;
}

export class WatchHub {
  private readonly sinks = new Set<WatchSink>();

  /** Adds a sink; the returned function removes it. */
  add(sink: WatchSink): () => void {
    this.sinks.add(sink);
    return () => this.sinks.delete(sink);
  }

  get size(): number {
    return this.sinks.size;
  }

  /**
   * A committed message. `inOrder` is false when older messages (another broker's) may not have
   * been handed over yet: each watcher then reads the store instead, in id order.
   */
  message(message: Message, inOrder = true): void {
    for (const sink of this.sinks) {
      if (inOrder) sink.message(message);
      else sink.resync();
    }
  }

  /** Every watcher reads the store again (after news may have been missed). */
  resync(): void {
    for (const sink of this.sinks) sink.resync();
  }

  presence(partnerId: string, online: boolean, status: string | null): void {
    this.event({ type: 'presence', partnerId, online, status });
  }

  held(hold: Hold): void {
    this.event({ type: 'held', hold });
  }

  released(conversationId: string, by: ReleasedFrame['by']): void {
    this.event({ type: 'released', conversationId, by });
  }

  /** `partnerId` has read `conversationId` up to `upTo`. */
  read(partnerId: string, conversationId: string, upTo: number): void {
    this.event({ type: 'read', conversationId, partnerId, upTo });
  }

  /** `partnerId`'s live session was handed what it had not read up to `upTo`. */
  pushed(partnerId: string, upTo: number): void {
    this.event({ type: 'pushed', partnerId, upTo });
  }

  private event(frame: WatchEvent): void {
    for (const sink of this.sinks) sink.event(frame);
  }
}
