/**
 * The owner's REST calls, authenticated with the owner token (X-Duo-Token): minting a console
 * login, listing holds, resuming a held conversation. Replies are checked against the shared
 * schemas and `{error, code}` replies become DuoError, as in the partner's client.
 */
import type { z } from 'zod';
import { HoldsReply, LoginCodeReply, ResumeReply } from '../shared/console-protocol.ts';
import { codeForStatus, DuoError, isErrorCode } from '../shared/errors.ts';
import { OWNER_TOKEN_HEADER } from '../shared/owner-token.ts';
import { ErrorReply } from '../shared/protocol.ts';
import { unreachable } from './rest.ts';

export class OwnerClient {
  readonly brokerUrl: string;

  constructor(
    brokerUrl: string,
    private readonly token: string,
    private readonly timeoutMs = 5_000,
  ) {
    this.brokerUrl = brokerUrl.replace(/\/+$/, '');
  }

  mintLogin(partnerId: string, name?: string) {
    return this.request('POST', '/console/codes', LoginCodeReply, { partnerId, ...(name ? { name } : {}) });
  }

  holds() {
    return this.request('GET', '/holds', HoldsReply);
  }

  resume(conversationId: string) {
    return this.request('POST', `/conversations/${encodeURIComponent(conversationId)}/resume`, ResumeReply, {});
  }

  private async request<S extends z.ZodType>(
    method: 'GET' | 'POST',
    path: string,
    schema: S,
    body?: unknown,
  ): Promise<z.infer<S>> {
    const headers: Record<string, string> = { accept: 'application/json', [OWNER_TOKEN_HEADER]: this.token };
    if (body !== undefined) headers['content-type'] = 'application/json';
    let response: Response;
    let text: string;
    try {
      response = await fetch(this.brokerUrl + path, {
        method,
        headers,
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: AbortSignal.timeout(this.timeoutMs),
        redirect: 'error',
      });
      text = await response.text();
    } catch (error) {
      throw unreachable(this.brokerUrl, error, this.timeoutMs);
    }
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      json = undefined;
    }
    if (!response.ok) {
      const reply = ErrorReply.safeParse(json);
      if (reply.success) {
        const code = isErrorCode(reply.data.code) ? reply.data.code : codeForStatus(response.status);
        throw new DuoError(code, reply.data.error);
      }
      throw new DuoError(
        codeForStatus(response.status),
        `The broker at ${this.brokerUrl} answered HTTP ${response.status}.`,
      );
    }
    const parsed = schema.safeParse(json);
    if (!parsed.success) {
      throw new DuoError(
        'internal',
        `The broker at ${this.brokerUrl} sent an unexpected reply to ${method} ${path}; is it an older version? Restart it.`,
      );
    }
    return parsed.data;
  }
}
