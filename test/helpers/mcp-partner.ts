/**
 * A real partner (Partner + MCP server) wired to a real MCP SDK client over the in-memory
 * transport, against a real broker. Nothing of ours is mocked. `rest()` is a REST client acting
 * as the partner, for checking what the broker holds.
 */
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { InMemoryTransport } from '@modelcontextprotocol/sdk/inMemory.js';
import type { RequestOptions } from '@modelcontextprotocol/sdk/shared/protocol.js';
import { z } from 'zod';
import { brokerEndpoint } from '../../src/client/endpoint.ts';
import { BrokerClient } from '../../src/client/rest.ts';
import { SecretStore } from '../../src/client/secrets.ts';
import { partnerConfigFromEnv, type PartnerConfigInput } from '../../src/partner/config.ts';
import { Partner } from '../../src/partner/partner.ts';
import { createPartnerServer } from '../../src/partner/server.ts';
import { silentLogger } from '../../src/shared/log.ts';
import { ownerTokenEnv } from './owner-tokens.ts';

export const ChannelNotification = z.object({
  method: z.literal('notifications/claude/channel'),
  params: z.object({ content: z.string(), meta: z.record(z.string(), z.string()) }),
});
export type ChannelEvent = z.infer<typeof ChannelNotification>['params'];

export interface ToolResult {
  text: string;
  isError: boolean;
}

export interface TestPartner {
  partner: Partner;
  client: Client;
  channel: ChannelEvent[];
  home: string;
  projectDir: string;
  call(name: string, args?: Record<string, unknown>, options?: RequestOptions): Promise<ToolResult>;
  /** A REST client acting as this partner (once it registered). */
  rest(): BrokerClient;
  close(): Promise<void>;
}

export interface StartPartnerOptions {
  partnerId?: string;
  name?: string;
  /** Folder name of the project (its slug is the id when partnerId is not set). */
  project?: string;
  /** Share a secrets file between partners (same user). */
  configHome?: string;
  /** Wait until registered and connected (default true). */
  ready?: boolean;
  overrides?: Partial<PartnerConfigInput>;
}

export function tempHome(): string {
  return mkdtempSync(join(tmpdir(), 'duo-partner-'));
}

export async function waitUntil(check: () => boolean, timeoutMs = 5_000, what = 'condition'): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

export async function startPartner(brokerUrl: string, options: StartPartnerOptions = {}): Promise<TestPartner> {
  const home = tempHome();
  const projectDir = join(home, options.project ?? options.partnerId ?? 'project');
  mkdirSync(projectDir, { recursive: true });
  const config = partnerConfigFromEnv(
    {
      BROKER_URL: brokerUrl,
      PARTNER_ID: options.partnerId,
      PARTNER_NAME: options.name,
      XDG_CONFIG_HOME: options.configHome ?? join(home, 'config'),
      ...ownerTokenEnv(brokerUrl),
    },
    projectDir,
    { logLevel: 'silent', requestTimeoutMs: 2_000, reconnectBaseMs: 50, reconnectCapMs: 500, ...options.overrides },
  );
  const partner = new Partner({ config, logger: silentLogger });
  const server = createPartnerServer(partner);
  const [clientTransport, serverTransport] = InMemoryTransport.createLinkedPair();
  const client = new Client({ name: 'duo-test', version: '0.0.0' });
  const channel: ChannelEvent[] = [];
  client.setNotificationHandler(ChannelNotification, (notification) => {
    channel.push(notification.params);
  });
  await server.connect(serverTransport);
  await client.connect(clientTransport);
  partner.start();
  if (options.ready !== false) await waitUntil(() => partner.status === 'ready', 5_000, 'partner ready');

  return {
    partner,
    client,
    channel,
    home,
    projectDir,
    async call(name, args = {}, requestOptions) {
      const result = await client.callTool({ name, arguments: args }, undefined, requestOptions);
      const content = result.content as Array<{ type: string; text?: string }>;
      return { text: content.map((c) => c.text ?? '').join('\n'), isError: result.isError === true };
    },
    rest() {
      const partnerId = partner.identity?.partnerId;
      if (!partnerId) throw new Error('the partner has not registered yet');
      const secret = new SecretStore(config.secretsFile).getSecret(config.brokerUrl, partnerId)!;
      const client = new BrokerClient({
        endpoint: brokerEndpoint({ brokerUrl: config.brokerUrl, ownerTokenFile: config.ownerTokenFile }),
      });
      client.setCredentials({ partnerId, secret });
      return client;
    },
    async close() {
      await client.close().catch(() => undefined);
      await partner.close();
      await server.close().catch(() => undefined);
      rmSync(home, { recursive: true, force: true });
    },
  };
}
