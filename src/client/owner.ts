/**
 * The owner's REST calls, authenticated with the owner token (X-Duo-Token): minting a console
 * login, listing holds, resuming a held conversation. Replies are checked against the shared
 * schemas and `{error, code}` replies become DuoError, as in the partner's client.
 */
import type { z } from 'zod';
import { HoldsReply, LoginCodeReply, ResumeReply } from '../shared/console-protocol.ts';
import { DuoError } from '../shared/errors.ts';
import { brokerEndpoint, type BrokerEndpoint } from './endpoint.ts';
import { errorFromReply, sendWithFailover } from './rest.ts';

export class OwnerClient {
  private readonly endpoint: BrokerEndpoint;

  /** `brokerUrl` may list several brokers of a team: reads fail over as the partner's do. */
  constructor(
    brokerUrl: string,
    token: string,
    private readonly timeoutMs = 5_000,
  ) {
    this.endpoint = brokerEndpoint({ brokerUrl, token });
  }

  /** The broker that answered last (the first of the list before any request). */
  get brokerUrl(): string {
    return this.endpoint.url;
  }

  mintLogin(partnerId: string, name?: string) {
    return this.request('POST', '/console/codes', LoginCodeReply, { partnerId, ...(name ? { name } : {}) });
  }

  holds() {
    return this.request('GET', '/holds', HoldsReply);
  }

  resume(conversationId: string) {
    // Resuming a conversation that is not held changes nothing: safe to repeat on another broker.
    return this.request('POST', `/conversations/${encodeURIComponent(conversationId)}/resume`, ResumeReply, {}, true);
  }

  private async request<S extends z.ZodType>(
    method: 'GET' | 'POST',
    path: string,
    schema: S,
    body?: unknown,
    repeatable = method === 'GET',
  ): Promise<z.infer<S>> {
    const { brokerUrl, response, text } = await sendWithFailover(this.endpoint, {
      method,
      path,
      headers: {},
      body,
      timeoutMs: this.timeoutMs,
      repeatable,
    });
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      json = undefined;
    }
    if (!response.ok) throw errorFromReply(response, json, brokerUrl);
    const parsed = schema.safeParse(json);
    if (!parsed.success) {
      throw new DuoError(
        'internal',
        `The broker at ${brokerUrl} sent an unexpected reply to ${method} ${path}; is it an older version? Restart it.`,
      );
    }
    return parsed.data;
  }
}
