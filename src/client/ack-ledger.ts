/**
 * The acks a client owes the broker. An ack (`{type: "ack", conversationId, upTo}`) marks a
 * conversation read up to an id and carries no reply, so one sent into a dying socket, or
 * refused by a rate limit or a busy database, would be lost without a trace. Acks are
 * idempotent: the ledger keeps the highest per conversation and sends them all again after a
 * reconnect, and a second after a refusal.
 */
import { ACK_RESEND_MS } from '../shared/defaults.ts';

/** What the ledger needs from a connection: send one ack frame now, if the socket is open. */
export interface AckSink {
  sendAck(conversationId: string, upTo: number): void;
}

export class AckLedger {
  private readonly sink: AckSink;
  private readonly resendMs: number;
  private readonly acked = new Map<string, number>();
  private resendTimer: NodeJS.Timeout | undefined;

  constructor(sink: AckSink, resendMs = ACK_RESEND_MS) {
    this.sink = sink;
    this.resendMs = resendMs;
  }

  /** Marks `conversationId` read up to `upTo`; an ack at or below one already owed is a no-op. */
  ack(conversationId: string, upTo: number): void {
    if ((this.acked.get(conversationId) ?? 0) >= upTo) return;
    this.acked.set(conversationId, upTo);
    this.sink.sendAck(conversationId, upTo);
  }

  /** Sends every ack again (after a reconnect: some may have died with the old socket). */
  sendAll(): void {
    for (const [conversationId, upTo] of this.acked) this.sink.sendAck(conversationId, upTo);
  }

  /** The broker refused a frame without a ref (most likely an ack): send them all again soon. */
  refused(): void {
    if (this.resendTimer) return;
    this.resendTimer = setTimeout(() => {
      this.resendTimer = undefined;
      this.sendAll();
    }, this.resendMs);
    this.resendTimer.unref();
  }

  /** Stops owing acks for a conversation (this partner left it). */
  forget(conversationId: string): void {
    this.acked.delete(conversationId);
  }

  /** Forgets everything (the connection now speaks for another partner id). */
  clear(): void {
    this.acked.clear();
    this.stop();
  }

  stop(): void {
    clearTimeout(this.resendTimer);
    this.resendTimer = undefined;
  }
}
