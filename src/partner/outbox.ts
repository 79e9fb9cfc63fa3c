/**
 * Sends the model's messages: over the WebSocket when it is up, else (or when the socket dies
 * mid-request) over REST with the same clientMsgId, so the broker never stores a message twice.
 * When the outcome is unknown (the broker went away before confirming), the clientMsgId is kept
 * for that text and target, so the model calling talk again with the same message cannot send it
 * twice either.
 */
import { randomUUID } from 'node:crypto';
import { BoundedMap } from '../shared/bounded-map.ts';
import { REMEMBERED_UNSETTLED_SENDS } from '../shared/defaults.ts';
import { DuoError } from '../shared/errors.ts';
import type { SentFrame, TalkBody, TalkReply } from '../shared/protocol.ts';
import type { TalkRequest } from '../client/connection.ts';

export type SendTarget = { to: string } | { conversationId: string };

export interface SentMessage {
  messageId: number;
  conversationId: string;
  duplicate: boolean;
}

/** The two ways to send: what the outbox needs from the connection and the REST client. */
export interface OutboxRoutes {
  socket: { readonly isOpen: boolean; talk(request: TalkRequest): Promise<SentFrame> };
  rest: { talk(body: TalkBody): Promise<TalkReply> };
}

/** The broker may have stored the message or not: the request did not get an answer. */
function isIndeterminate(error: unknown): error is DuoError {
  return error instanceof DuoError && (error.code === 'unavailable' || error.code === 'internal');
}

export class Outbox {
  private readonly routes: OutboxRoutes;
  /** clientMsgIds of sends whose outcome is unknown, by text and target. */
  private readonly unsettled = new BoundedMap<string, string>(REMEMBERED_UNSETTLED_SENDS);

  constructor(routes: OutboxRoutes) {
    this.routes = routes;
  }

  /** Resolves once the broker stored the message (or had it already, `duplicate`). */
  async send(content: string, target: SendTarget): Promise<SentMessage> {
    const key = JSON.stringify([content, target]);
    const request = { content, clientMsgId: this.unsettled.get(key) ?? randomUUID(), ...target };
    let sent: SentFrame | TalkReply;
    try {
      sent = await this.sendOnce(request);
    } catch (error) {
      throw this.failure(key, request.clientMsgId, error);
    }
    this.unsettled.delete(key);
    return { messageId: sent.messageId, conversationId: sent.conversationId, duplicate: sent.duplicate };
  }

  private async sendOnce(request: TalkBody): Promise<SentFrame | TalkReply> {
    const { socket, rest } = this.routes;
    if (!socket.isOpen) return rest.talk(request);
    try {
      return await socket.talk(request);
    } catch (error) {
      // The socket dropped or the broker did not confirm in time: REST with the same
      // clientMsgId either stores the message or returns the copy already stored.
      if (!(error instanceof DuoError) || error.code !== 'unavailable') throw error;
      return rest.talk(request);
    }
  }

  /** What a failed send reports; when its outcome is unknown, the clientMsgId is kept for a retry. */
  private failure(key: string, clientMsgId: string, error: unknown): unknown {
    if (!isIndeterminate(error)) {
      this.unsettled.delete(key);
      return error;
    }
    this.unsettled.set(key, clientMsgId);
    return new DuoError(
      error.code,
      `${error.message} The message may or may not have been stored; calling talk again with the same text and target is safe: it will not be sent twice.`,
    );
  }
}
