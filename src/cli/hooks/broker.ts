/**
 * What the hooks ask the broker, as the partner of the session's project: over node:http (which
 * starts faster than fetch) with the replies checked in replies.ts, so a hook loads no zod.
 */
import {
  listenRequest,
  notUnderstood,
  replyOf,
  sendWithFailover,
  type Credentials,
  type ListenOptions,
} from '../../client/broker-http.ts';
import { brokerEndpoint, type BrokerEndpoint } from '../../client/endpoint.ts';
import { nodeHttp } from '../../client/transport.ts';
import type { ConversationSummary, ListenReply } from '../../shared/protocol.ts';
import type { CliSetup } from '../identity.ts';
import { conversationsReplyOf, listenReplyOf } from './replies.ts';

export class HookBroker {
  private readonly endpoint: BrokerEndpoint;
  private readonly credentials: Credentials;
  private readonly timeoutMs: number;

  constructor({ config }: CliSetup, credentials: Credentials, timeoutMs: number) {
    this.endpoint = brokerEndpoint(config);
    this.credentials = credentials;
    this.timeoutMs = timeoutMs;
  }

  async listen(options: ListenOptions): Promise<ListenReply> {
    const { path, query, timeoutMs } = listenRequest(this.credentials.partnerId, options);
    return this.get(path, listenReplyOf, query, timeoutMs);
  }

  async conversations(): Promise<{ conversations: ConversationSummary[] }> {
    return this.get(`/conversations/${encodeURIComponent(this.credentials.partnerId)}`, conversationsReplyOf);
  }

  /** Ends the partner's presence (the session ended); what it answers does not matter. */
  async unregister(): Promise<void> {
    replyOf(await this.send('POST', '/unregister', undefined, this.timeoutMs, {}));
  }

  private async get<T>(
    path: string,
    check: (json: unknown) => T | undefined,
    query?: Record<string, string | number | undefined>,
    timeoutMs = this.timeoutMs,
  ): Promise<T> {
    const answer = await this.send('GET', path, query, timeoutMs);
    const reply = check(replyOf(answer));
    if (reply === undefined) throw notUnderstood(answer.brokerUrl);
    return reply;
  }

  private send(
    method: 'GET' | 'POST',
    path: string,
    query: Record<string, string | number | undefined> | undefined,
    timeoutMs: number,
    body?: unknown,
  ) {
    return sendWithFailover(this.endpoint, {
      method,
      path,
      query,
      headers: { authorization: `Bearer ${this.credentials.secret}` },
      body,
      timeoutMs,
      repeatable: method === 'GET',
      transport: nodeHttp,
    });
  }
}
