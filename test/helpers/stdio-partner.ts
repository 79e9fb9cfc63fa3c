/**
 * A real partner process (`src/partner/bin.ts`) driven by the MCP SDK client over stdio, the way
 * Claude Code runs it. Tool results come back as text; `messagesIn` reads the peer_message
 * envelopes out of a listen result.
 */
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';

const partnerBin = new URL('../../src/partner/bin.ts', import.meta.url).pathname;
// The partner runs in its project folder, where `--import tsx` would not resolve: name the loader.
const tsxLoader = new URL('../../node_modules/tsx/dist/loader.mjs', import.meta.url).href;

export interface ToolText {
  text: string;
  isError: boolean;
  ms: number;
}

export interface EnvelopedMessage {
  id: number;
  from: string;
  conversation: string;
  redelivered: boolean;
  content: string;
}

export interface StdioPartner {
  partnerId: string;
  /** The partner's process id (for SIGSTOP / SIGKILL). */
  pid: number;
  home: string;
  call(name: string, args?: Record<string, unknown>, timeoutMs?: number): Promise<ToolText>;
  stderr(): string;
  close(): Promise<void>;
}

export interface StdioPartnerOptions {
  /** Reuse a home (secrets file, project folder) to restart "the same" partner. */
  home?: string;
  env?: Record<string, string>;
}

export async function startStdioPartner(
  brokerUrl: string,
  partnerId: string,
  options: StdioPartnerOptions = {},
): Promise<StdioPartner> {
  const home = options.home ?? mkdtempSync(join(tmpdir(), 'duo-stdio-'));
  const projectDir = join(home, partnerId);
  mkdirSync(projectDir, { recursive: true });
  const transport = new StdioClientTransport({
    command: process.execPath,
    args: ['--import', tsxLoader, partnerBin],
    cwd: projectDir,
    env: {
      PATH: process.env.PATH ?? '',
      HOME: home,
      BROKER_URL: brokerUrl,
      PARTNER_ID: partnerId,
      XDG_CONFIG_HOME: join(home, 'config'),
      XDG_DATA_HOME: join(home, 'data'),
      DUO_LOG_LEVEL: 'warn',
      DUO_AUTOSTART: '0',
      ...options.env,
    },
    stderr: 'pipe',
  });
  let stderr = '';
  transport.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const client = new Client({ name: 'duo-fault-test', version: '0.0.0' });
  await client.connect(transport);
  const pid = transport.pid;
  if (pid === null) throw new Error('the partner process did not start');
  return {
    partnerId,
    pid,
    home,
    async call(name, args = {}, timeoutMs = 30_000) {
      const started = Date.now();
      const result = await client.callTool({ name, arguments: args }, undefined, { timeout: timeoutMs });
      const content = result.content as Array<{ type: string; text?: string }>;
      return {
        text: content.map((c) => c.text ?? '').join('\n'),
        isError: result.isError === true,
        ms: Date.now() - started,
      };
    },
    stderr: () => stderr,
    async close() {
      await client.close().catch(() => undefined);
      if (options.home === undefined) rmSync(home, { recursive: true, force: true });
    },
  };
}

/** The messages in a listen result, in the order shown. */
export function messagesIn(text: string): EnvelopedMessage[] {
  const found: EnvelopedMessage[] = [];
  for (const match of text.matchAll(/<peer_message ([^>]*)>\n([\s\S]*?)\n<\/peer_message>/g)) {
    const attrs = Object.fromEntries([...match[1]!.matchAll(/(\w+)="([^"]*)"/g)].map((m) => [m[1]!, m[2]!]));
    found.push({
      id: Number(attrs.id),
      from: attrs.from ?? '',
      conversation: attrs.conversation ?? '',
      redelivered: attrs.redelivered === 'true',
      content: match[2]!,
    });
  }
  return found;
}

/** Calls listen until `count` messages were read (or `timeoutMs` passed); returns them all. */
export async function listenFor(partner: StdioPartner, count: number, timeoutMs: number): Promise<EnvelopedMessage[]> {
  const messages: EnvelopedMessage[] = [];
  const deadline = Date.now() + timeoutMs;
  while (messages.length < count && Date.now() < deadline) {
    const result = await partner.call('listen', { timeout: 1 });
    if (!result.isError) messages.push(...messagesIn(result.text));
    else await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return messages;
}
