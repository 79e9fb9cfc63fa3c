/**
 * A real partner process (`src/partner/bin.ts`) driven by the MCP SDK client over stdio, the way
 * Claude Code runs it. The transport keeps every raw stdout line, so a test can prove nothing but
 * JSON-RPC was written there, and collects channel events. `messagesIn` reads the peer_message
 * envelopes out of a tool result.
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { pathToFileURL } from 'node:url';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import type { Transport } from '@modelcontextprotocol/sdk/shared/transport.js';
import { JSONRPCMessageSchema, type JSONRPCMessage } from '@modelcontextprotocol/sdk/types.js';
import { partnerIdForFolder } from '../../src/shared/ids.ts';
import { ChannelNotification, type ChannelEvent } from './mcp-partner.ts';
import { ownerTokenEnv } from './owner-tokens.ts';

const partnerBin = new URL('../../src/partner/bin.ts', import.meta.url).pathname;
// The child runs in its project folder, where `--import tsx` would not resolve: name the loader by path.
const tsxLoader = pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href;

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

export interface StdioPartnerOptions {
  /** PARTNER_ID; without it the partner derives its id from the project folder's name. */
  partnerId?: string;
  /** The project folder's name under the home (default: the partner id, else "project"). */
  project?: string;
  /** Reuse a home (secrets file, project folder) to restart "the same" partner; kept on close. */
  home?: string;
  env?: Record<string, string>;
}

export interface StdioPartner {
  /** The id it asks for: PARTNER_ID, else its project folder's slug. */
  partnerId: string;
  child: ChildProcessWithoutNullStreams;
  /** The partner's process id (for SIGSTOP / SIGKILL). */
  pid: number;
  home: string;
  client: Client;
  channel: ChannelEvent[];
  stdoutLines: string[];
  exited: Promise<number | null>;
  call(name: string, args?: Record<string, unknown>, timeoutMs?: number): Promise<ToolText>;
  stderr(): string;
  /** Closes stdin (as Claude Code does on exit) and waits for the process. */
  stop(): Promise<void>;
  /** Stops the process (killing it if it lingers) and removes a home it created. */
  close(): Promise<void>;
}

class ChildTransport implements Transport {
  onclose?: () => void;
  onerror?: (error: Error) => void;
  onmessage?: (message: JSONRPCMessage) => void;

  constructor(
    private readonly child: ChildProcessWithoutNullStreams,
    private readonly lines: string[],
  ) {}

  async start(): Promise<void> {
    createInterface({ input: this.child.stdout }).on('line', (line) => {
      this.lines.push(line);
      let parsed;
      try {
        parsed = JSONRPCMessageSchema.safeParse(JSON.parse(line));
      } catch {
        return;
      }
      if (parsed.success) this.onmessage?.(parsed.data);
    });
    this.child.once('exit', () => this.onclose?.());
  }

  async send(message: JSONRPCMessage): Promise<void> {
    if (this.child.stdin.writable) this.child.stdin.write(`${JSON.stringify(message)}\n`);
  }

  async close(): Promise<void> {
    this.child.stdin.end();
  }
}

export async function startStdioPartner(brokerUrl: string, options: StdioPartnerOptions = {}): Promise<StdioPartner> {
  const home = options.home ?? mkdtempSync(join(tmpdir(), 'duo-stdio-'));
  const projectDir = join(home, options.project ?? options.partnerId ?? 'project');
  mkdirSync(projectDir, { recursive: true });
  const env: Record<string, string> = {
    PATH: process.env.PATH ?? '',
    HOME: home,
    BROKER_URL: brokerUrl,
    XDG_CONFIG_HOME: join(home, 'config'),
    XDG_DATA_HOME: join(home, 'data'),
    DUO_LOG_LEVEL: 'info',
    // Tests start their own brokers; a partner must never start one behind their back.
    DUO_AUTOSTART: '0',
    ...ownerTokenEnv(brokerUrl),
    ...(options.partnerId ? { PARTNER_ID: options.partnerId } : {}),
    ...options.env,
  };
  const child = spawn(process.execPath, ['--import', tsxLoader, partnerBin], {
    cwd: projectDir,
    env,
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const stdoutLines: string[] = [];
  const channel: ChannelEvent[] = [];
  const client = new Client({ name: 'duo-stdio-test', version: '0.0.0' });
  client.setNotificationHandler(ChannelNotification, (notification) => {
    channel.push(notification.params);
  });
  await client.connect(new ChildTransport(child, stdoutLines));
  if (child.pid === undefined) throw new Error('the partner process did not start');
  const stop = async () => {
    child.stdin.end();
    await exited;
  };
  return {
    partnerId: options.partnerId ?? partnerIdForFolder(projectDir),
    child,
    pid: child.pid,
    home,
    client,
    channel,
    stdoutLines,
    exited,
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
    stop,
    async close() {
      const killer = setTimeout(() => child.kill('SIGKILL'), 3_000);
      await stop();
      clearTimeout(killer);
      if (options.home === undefined) rmSync(home, { recursive: true, force: true });
    },
  };
}

/** Calls a tool until it succeeds (the partner may still be registering or reconnecting). */
export async function callUntilOk(
  partner: StdioPartner,
  name: string,
  args: Record<string, unknown> = {},
  timeoutMs = 15_000,
): Promise<ToolText> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const result = await partner.call(name, args);
    if (!result.isError) return result;
    if (Date.now() > deadline)
      throw new Error(`${name} kept failing: ${result.text}\n--- stderr ---\n${partner.stderr()}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/**
 * Sends one message with `talk`, retrying a failed call until it is acknowledged, as a model
 * would (the partner reuses the send's clientMsgId, so a retry never stores it twice). Returns
 * how many calls failed first; the unread messages its result carried go into `received`.
 */
export async function talkUntilAcked(
  partner: StdioPartner,
  to: string,
  message: string,
  received: EnvelopedMessage[] = [],
): Promise<number> {
  for (let failed = 0; ; failed++) {
    const result = await partner.call('talk', { to, message });
    if (!result.isError) {
      received.push(...messagesIn(result.text));
      return failed;
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
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
