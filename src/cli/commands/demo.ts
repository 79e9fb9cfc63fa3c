/**
 * `duo demo` (`npm run demo`): a throwaway broker (temporary database, free port) and two real
 * partners, "alice" and "bob", each the MCP server Claude Code would spawn, driven over stdio by
 * the MCP SDK client the way a model drives its tools. Prints the exchange and exits.
 */
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import * as z from 'zod';
import { buildBroker } from '../../broker/app.ts';
import { BrokerConfig } from '../../shared/config.ts';
import { duoArgs } from '../../shared/entry.ts';
import { ownerTokenPath } from '../../shared/owner-token.ts';
import { parse, type CliContext, type Command } from '../command.ts';

const ChannelNotification = z.object({
  method: z.literal('notifications/claude/channel'),
  params: z.object({ content: z.string(), meta: z.record(z.string(), z.string()) }),
});
type ChannelEvent = z.infer<typeof ChannelNotification>['params'];

export const command: Command = {
  name: 'demo',
  summary: 'Two partners talking through a throwaway broker',
  help: `Usage: duo demo

Starts a broker on a free port over a temporary database, and two partners ("alice" and "bob"),
each the real MCP server Claude Code runs, driven through their tools. Prints what they say and
what their models would see, then cleans up. Takes a few seconds; touches none of your files.`,
  async run(args, ctx) {
    parse(args, {}, false);
    const started = Date.now();
    const dir = mkdtempSync(join(tmpdir(), 'duo-demo-'));
    // The owner token goes where the demo partners (XDG_CONFIG_HOME under `dir`) look for it.
    const ownerTokenFile = ownerTokenPath({ XDG_CONFIG_HOME: join(dir, 'config') });
    const broker = await buildBroker(
      BrokerConfig.parse({ port: 0, dbPath: join(dir, 'duo.db'), logLevel: 'silent', ownerTokenPath: ownerTokenFile }),
    );
    const partners: DemoPartner[] = [];
    try {
      await broker.app.listen({ port: 0, host: '127.0.0.1' });
      const address = broker.app.server.address();
      const url = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
      ctx.out(`Claude Duo demo: a broker at ${url} over a temporary database, and two partners,\n`);
      ctx.out(`"alice" and "bob": each the MCP server a Claude Code session runs (duo partner, over stdio).\n\n`);

      const alice = await DemoPartner.start('alice', url, dir, ctx);
      partners.push(alice);
      const bob = await DemoPartner.start('bob', url, dir, ctx);
      partners.push(bob);
      await alice.untilOk('list_partners', {}, (text) => /\bbob\b/.test(text));

      await alice.show('talk', { to: 'bob', message: 'Hi bob! Does /api/users still return the email field?' });
      const event = await bob.nextChannelEvent();
      ctx.out(
        `${label('bob', '◂')} channel event: a session started with channels sees this at once:\n${indent(event.content)}\n\n`,
      );
      await bob.show('talk', {
        conversation: event.meta.conversation ?? 'direct:alice:bob',
        message: 'Yes, but it is nullable since v2. I will send the schema diff.',
      });
      await alice.show('listen', { timeout: 10 });

      const group = await alice.show('create_conversation', { name: 'Release 1.4', participants: 'bob' });
      const groupId = /group_[a-z0-9]+/.exec(group)?.[0];
      if (groupId) {
        await alice.show('talk', {
          conversation: groupId,
          message: 'Freeze at 17:00. Ping here when your part is merged.',
        });
        await bob.nextChannelEvent();
        await bob.show('listen', { conversation: groupId, timeout: 10 });
      }
      await bob.show('list_partners', {});
      ctx.out(
        `Done in ${((Date.now() - started) / 1000).toFixed(1)} s. Run it for real: duo install, then duo broker.\n`,
      );
      return 0;
    } finally {
      await Promise.all(partners.map((p) => p.close()));
      await broker.close();
      rmSync(dir, { recursive: true, force: true });
    }
  },
};

class DemoPartner {
  private readonly events: ChannelEvent[] = [];
  private wake: (() => void) | undefined;

  private constructor(
    readonly name: string,
    private readonly client: Client,
    private readonly ctx: CliContext,
  ) {
    client.setNotificationHandler(ChannelNotification, ({ params }) => {
      this.events.push(params);
      this.wake?.();
    });
  }

  static async start(name: string, brokerUrl: string, dir: string, ctx: CliContext): Promise<DemoPartner> {
    const project = join(dir, name);
    mkdirSync(project);
    const env: Record<string, string> = {};
    for (const [key, value] of Object.entries(ctx.env)) {
      if (
        value !== undefined &&
        !/^(PARTNER_ID|PARTNER_NAME|CLAUDE_PROJECT_DIR|DUO_TOKEN|DUO_OWNER_TOKEN|DUO_OWNER_TOKEN_FILE)$/.test(key)
      )
        env[key] = value;
    }
    Object.assign(env, { BROKER_URL: brokerUrl, XDG_CONFIG_HOME: join(dir, 'config'), DUO_LOG_LEVEL: 'warn' });
    const transport = new StdioClientTransport({
      command: process.execPath,
      args: duoArgs('partner'),
      cwd: project,
      env,
      stderr: 'ignore',
    });
    const client = new Client({ name: 'duo-demo', version: '1.0.0' });
    const partner = new DemoPartner(name, client, ctx);
    await client.connect(transport);
    return partner;
  }

  async call(tool: string, args: Record<string, unknown>): Promise<{ text: string; isError: boolean }> {
    const result = await this.client.callTool({ name: tool, arguments: args });
    const content = result.content as Array<{ type: string; text?: string }>;
    return { text: content.map((c) => c.text ?? '').join('\n'), isError: result.isError === true };
  }

  /** Calls a tool, printing the call and its result as the model would get it. */
  async show(tool: string, args: Record<string, unknown>): Promise<string> {
    const shown = Object.entries(args)
      .map(([key, value]) => `${key}: ${JSON.stringify(value)}`)
      .join(', ');
    this.ctx.out(`${label(this.name, '▸')} ${tool}(${shown})\n`);
    const { text, isError } = await this.call(tool, args);
    this.ctx.out(`${indent(text)}\n\n`);
    if (isError) throw new Error(`${this.name}: ${tool} failed: ${text}`);
    return text;
  }

  /** Calls a tool until it succeeds and its text passes `ready` (the partner may still be registering). */
  async untilOk(tool: string, args: Record<string, unknown>, ready: (text: string) => boolean): Promise<void> {
    const deadline = Date.now() + 15_000;
    for (;;) {
      const { text, isError } = await this.call(tool, args);
      if (!isError && ready(text)) return;
      if (Date.now() > deadline) throw new Error(`${this.name} did not get ready: ${text}`);
      await sleep(100);
    }
  }

  async nextChannelEvent(timeoutMs = 10_000): Promise<ChannelEvent> {
    const deadline = Date.now() + timeoutMs;
    while (this.events.length === 0) {
      if (Date.now() > deadline) throw new Error(`${this.name} got no channel event`);
      await new Promise<void>((resolve) => {
        this.wake = resolve;
        setTimeout(resolve, 100);
      });
    }
    return this.events.shift()!;
  }

  async close(): Promise<void> {
    await this.client.close().catch(() => undefined);
  }
}

function label(name: string, arrow: string): string {
  return `${name.padEnd(5)} ${arrow}`;
}

function indent(text: string): string {
  return text
    .split('\n')
    .map((line) => `        ${line}`)
    .join('\n');
}
