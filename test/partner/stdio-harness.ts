/**
 * The partner as Claude Code runs it: a child process speaking MCP over stdio. The transport
 * here keeps every raw stdout line so a test can prove nothing but JSON-RPC was written there.
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { pathToFileURL } from 'node:url';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import type { Transport } from '@modelcontextprotocol/sdk/shared/transport.js';
import { JSONRPCMessageSchema, type JSONRPCMessage } from '@modelcontextprotocol/sdk/types.js';
import { ChannelNotification, type ChannelEvent, type ToolResult } from './harness.ts';

const bin = new URL('../../src/partner/bin.ts', import.meta.url).pathname;
// The child runs in the project folder, where `--import tsx` would not resolve: name the loader by path.
const tsxLoader = pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href;

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

export interface ChildPartner {
  child: ChildProcessWithoutNullStreams;
  client: Client;
  channel: ChannelEvent[];
  stdoutLines: string[];
  stderr(): string;
  exited: Promise<number | null>;
  call(name: string, args?: Record<string, unknown>): Promise<ToolResult>;
  /** Closes stdin (as Claude Code does on exit) and waits for the process. */
  stop(): Promise<void>;
}

export async function spawnPartner(options: {
  brokerUrl: string;
  home: string;
  project: string;
  partnerId?: string;
}): Promise<ChildPartner> {
  const projectDir = join(options.home, options.project);
  mkdirSync(projectDir, { recursive: true });
  const env: Record<string, string> = {
    PATH: process.env.PATH ?? '',
    HOME: options.home,
    BROKER_URL: options.brokerUrl,
    XDG_CONFIG_HOME: join(options.home, 'config'),
    DUO_LOG_LEVEL: 'debug',
    DUO_AUTOSTART: '0',
  };
  if (options.partnerId) env.PARTNER_ID = options.partnerId;
  const child = spawn(process.execPath, ['--import', tsxLoader, bin], {
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
  return {
    child,
    client,
    channel,
    stdoutLines,
    stderr: () => stderr,
    exited,
    async call(name, args = {}) {
      const result = await client.callTool({ name, arguments: args });
      const content = result.content as Array<{ type: string; text?: string }>;
      return { text: content.map((c) => c.text ?? '').join('\n'), isError: result.isError === true };
    },
    async stop() {
      child.stdin.end();
      await exited;
    },
  };
}

/** Calls a tool until it succeeds (the partner may still be registering or reconnecting). */
export async function callUntilOk(
  partner: ChildPartner,
  name: string,
  args: Record<string, unknown> = {},
  timeoutMs = 15_000,
): Promise<ToolResult> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const result = await partner.call(name, args);
    if (!result.isError) return result;
    if (Date.now() > deadline)
      throw new Error(`${name} kept failing: ${result.text}\n--- stderr ---\n${partner.stderr()}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}
