/**
 * `duo tail`: a live view of your conversations for the human watching the agents.
 *
 * It polls the REST history, which only reads: it never marks a message read, never holds a
 * WebSocket session (a second hello for the same partner id would take over the agent's session
 * and close it with 4001) and never appears as "online". One request a second asks for the
 * conversation list with each conversation's newest message id; only conversations that moved
 * are fetched. The cost is up to one poll interval of delay, which a human does not notice.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { TAIL_BACKLOG_LINES, TAIL_INTERVAL_MS, TAIL_MIN_INTERVAL_MS } from '../../shared/defaults.ts';
import { MAX_HISTORY_LIMIT } from '../../shared/limits.ts';
import { describeError, DuoError, isTransient } from '../../shared/errors.ts';
import { directMembers } from '../../shared/ids.ts';
import type { ConversationSummary, Message } from '../../shared/protocol.ts';
import type { BrokerClient } from '../../client/rest.ts';
import { resolveConversation } from '../../client/resolve.ts';
import { intFlag, parse, UsageError, type CliContext, type Command } from '../command.ts';
import { formatLine } from '../format.ts';
import { actAs, cliSetup } from '../identity.ts';

const HISTORY_PAGE = 100;

export const command: Command = {
  name: 'tail',
  summary: 'Watch your conversations live',
  help: `Usage: duo tail [conversation|partner] [-n N] [--interval MS] [--as ID] [--broker URL]

Prints the last messages of your conversations (or of one), then every new message as it
arrives, and partners coming online or going offline, until Ctrl-C. It only reads history: your
agent's messages stay unread for it, and its live session is left alone.

  -n, --lines N    Messages of backlog to show first (default ${TAIL_BACKLOG_LINES}; 0 for none)
  --interval MS    How often to look for new messages (default ${TAIL_INTERVAL_MS})

  duo tail                 # everything this project's partner sees
  duo tail bob             # only the direct conversation with bob
  duo tail --as alice      # what partner "alice" sees`,
  async run(args, ctx) {
    const { values, positionals } = parse(args, {
      lines: { type: 'string', short: 'n' },
      interval: { type: 'string' },
      as: { type: 'string' },
      broker: { type: 'string' },
    });
    if (positionals.length > 1) throw new UsageError('Name at most one conversation.');
    const lines = intFlag(values.lines, 'lines', TAIL_BACKLOG_LINES, 0);
    const intervalMs = intFlag(values.interval, 'interval', TAIL_INTERVAL_MS, TAIL_MIN_INTERVAL_MS);
    const { partnerId: me, client, setup } = actAs(cliSetup(ctx, { broker: values.broker }), values.as);
    const only = positionals[0] === undefined ? undefined : resolveConversation(positionals[0], me);

    const watcher = new Watcher(client, me, only, ctx);
    await watcher.backlog(lines);
    ctx.err(
      `Watching ${only ?? 'all your conversations'} as ${me} on ${setup.config.brokerUrl} (read-only; nothing is marked read). Ctrl-C to stop.\n`,
    );

    const stop = new AbortController();
    const onSignal = () => stop.abort();
    process.once('SIGINT', onSignal);
    process.once('SIGTERM', onSignal);
    try {
      while (!stop.signal.aborted) {
        await sleep(intervalMs, undefined, { signal: stop.signal }).catch(() => undefined);
        if (!stop.signal.aborted) await watcher.poll();
      }
    } finally {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
    }
    return 0;
  },
};

class Watcher {
  /** Highest message id printed (or skipped as backlog) per conversation. */
  private readonly seen = new Map<string, number>();
  private readonly known = new Map<string, ConversationSummary>();
  private online: Map<string, boolean> | undefined;
  private down = false;

  constructor(
    private readonly client: BrokerClient,
    private readonly me: string,
    private readonly only: string | undefined,
    private readonly ctx: CliContext,
  ) {}

  /** Prints the newest `lines` messages across the watched conversations and starts from there. */
  async backlog(lines: number): Promise<void> {
    const conversations = await this.conversations();
    const recent: Message[] = [];
    for (const conversation of conversations) {
      if (lines > 0 && conversation.lastMessageId !== null) {
        recent.push(
          ...(await this.client.history(conversation.id, { limit: Math.min(lines, MAX_HISTORY_LIMIT) })).messages,
        );
      }
      this.seen.set(conversation.id, conversation.lastMessageId ?? 0);
    }
    this.print(recent.sort((a, b) => a.id - b.id).slice(-lines));
    for (const message of recent)
      this.seen.set(message.conversationId, Math.max(this.seen.get(message.conversationId) ?? 0, message.id));
    this.online = await this.presence();
  }

  async poll(): Promise<void> {
    try {
      const fresh: Message[] = [];
      for (const conversation of await this.conversations()) {
        // A conversation that appeared after we started (a new group, a first direct message) is new from its first message.
        const after = this.seen.get(conversation.id) ?? 0;
        const newest = conversation.lastMessageId ?? 0;
        if (newest <= after) continue;
        const messages = await this.since(conversation.id, after);
        fresh.push(...messages);
        this.seen.set(conversation.id, Math.max(newest, ...messages.map((m) => m.id)));
      }
      this.print(fresh.sort((a, b) => a.id - b.id));
      const online = await this.presence();
      for (const [id, isOnline] of online) {
        if (this.online?.get(id) !== isOnline) this.ctx.out(`· ${id} ${isOnline ? 'is online' : 'went offline'}\n`);
      }
      this.online = online;
      if (this.down) this.ctx.err('The broker answers again.\n');
      this.down = false;
    } catch (error) {
      // A poll survives what the next poll may not see: the broker down, busy or briefly failing.
      if (!isTransient(error)) throw error;
      if (!this.down) this.ctx.err(`${describeError(error)} Still watching; retrying.\n`);
      this.down = true;
    }
  }

  private async conversations(): Promise<ConversationSummary[]> {
    const { conversations } = await this.client.conversations();
    for (const conversation of conversations) this.known.set(conversation.id, conversation);
    if (this.only === undefined) return conversations;
    const mine = conversations.filter((c) => c.id === this.only);
    // A direct conversation of mine that has no message yet exists as soon as one is sent: wait for it.
    if (mine.length === 0 && !directMembers(this.only)?.includes(this.me)) {
      throw new DuoError(
        'not_member',
        `You (${this.me}) are not in a conversation "${this.only}". Run "duo tail" without an argument to see yours.`,
      );
    }
    return mine;
  }

  /** Messages of `conversationId` newer than `after`, oldest first, paging back as far as needed. */
  private async since(conversationId: string, after: number): Promise<Message[]> {
    const found: Message[] = [];
    let before: number | undefined;
    for (;;) {
      const { messages, hasMore } = await this.client.history(conversationId, {
        limit: HISTORY_PAGE,
        ...(before === undefined ? {} : { before }),
      });
      const newer = messages.filter((m) => m.id > after);
      found.unshift(...newer);
      if (!hasMore || newer.length < messages.length || messages.length === 0) return found;
      before = messages[0]!.id;
    }
  }

  /** Online state of everyone who shares a watched conversation with me. */
  private async presence(): Promise<Map<string, boolean>> {
    const contacts = new Set<string>();
    for (const conversation of this.known.values()) {
      if (this.only !== undefined && conversation.id !== this.only) continue;
      for (const member of conversation.members) if (member !== this.me) contacts.add(member);
    }
    if (this.only !== undefined)
      for (const member of directMembers(this.only) ?? []) if (member !== this.me) contacts.add(member);
    const { partners } = await this.client.partners();
    return new Map(partners.filter((p) => contacts.has(p.id)).map((p) => [p.id, p.online]));
  }

  private print(messages: readonly Message[]): void {
    for (const message of messages) this.ctx.out(`${formatLine(message, this.me, this.known)}\n`);
  }
}
