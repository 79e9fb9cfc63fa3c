/**
 * The owner's REST calls, authenticated with the owner token (X-Duo-Token; on a team's broker
 * it also lets the request in, in place of DUO_TOKEN): minting a console
 * login, listing holds, resuming a held conversation. Replies are checked against the shared
 * schemas and `{error, code}` replies become DuoError, as in the partner's client.
 */
import type { z } from 'zod';
import { HoldsReply, LoginCodeReply, ResumeReply } from '../shared/console-protocol.ts';
import { DuoError } from '../shared/errors.ts';
import { ownerTokenPath, readOwnerToken } from '../shared/owner-token.ts';
import { brokerEndpoint, type BrokerEndpoint, type EndpointOptions } from './endpoint.ts';
import { errorFromReply, sendWithFailover } from './broker-http.ts';

/**
 * How a command proves it is the owner: DUO_OWNER_TOKEN, else the owner-token file (sent to a
 * loopback broker only). DUO_TOKEN is the join token every agent of a team has; it is never sent
 * as the owner's.
 */
export type OwnerAccess = Pick<EndpointOptions, 'token' | 'ownerTokenFile'>;

/**
 * The owner access of a `duo` command's environment; a DuoError that says what to do when there
 * is neither DUO_OWNER_TOKEN nor an owner-token file.
 */
export function ownerAccess(env: Record<string, string | undefined>): OwnerAccess {
  readOwnerToken(env);
  return env.DUO_OWNER_TOKEN ? { token: env.DUO_OWNER_TOKEN } : { ownerTokenFile: ownerTokenPath(env) };
}

export class OwnerClient {
  private readonly endpoint: BrokerEndpoint;

  /** `brokerUrl` may list several brokers of a team: reads fail over as the partner's do. */
  constructor(
    brokerUrl: string,
    access: OwnerAccess,
    private readonly timeoutMs = 5_000,
  ) {
    this.endpoint = brokerEndpoint({ brokerUrl, ...access });
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
    if (Object.keys(this.endpoint.headers()).length === 0) throw tokenStaysHome(this.endpoint.url);
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

/** The owner-token file belongs to the broker on this machine; a broker elsewhere gets DUO_OWNER_TOKEN. */
export function tokenStaysHome(brokerUrl: string): DuoError {
  return new DuoError(
    'unauthorized',
    `The owner token in your config folder is only ever sent to a broker on this machine, and ${brokerUrl} is not one. Set DUO_OWNER_TOKEN to that broker's owner token (\`duo token\` prints it on the broker's host).`,
  );
}
