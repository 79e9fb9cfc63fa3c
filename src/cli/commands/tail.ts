/**
 * `duo tail`: a live view of the conversations for the human watching the agents.
 *
 * It follows the broker's read-only watch stream (authenticated with the owner token): every
 * message appears the moment it is committed, with presence changes and loop-guard holds. The
 * stream never marks a message read, never opens a partner session (a second hello for the
 * agent's id would take over its session and close it with 4001) and never appears online. The
 * backlog comes from history, which only reads too. When the broker goes away the stream comes
 * back by itself and replays what was missed.
 */
import { WatchFrame } from '../../shared/console-protocol.ts';
import { ConversationId } from '../../shared/protocol.ts';
import { describeLoopPolicy } from '../../shared/loop-policy.ts';
import type { Message } from '../../shared/protocol.ts';
import { resolveConversation } from '../../client/resolve.ts';
import { intFlag, parse, UsageError, type CliContext, type Command } from '../command.ts';
import { describeError } from '../../shared/errors.ts';
import { conversationName, formatLine, oneLine } from '../format.ts';
import { actAs } from '../acting.ts';
import { cliSetup } from '../identity.ts';
import { EveryView, PartnerView, type TailView } from '../tail-views.ts';
import { WatchClient } from '../../client/watch.ts';
import { ownerAccess } from '../../client/owner.ts';

export const command: Command = {
  name: 'tail',
  summary: 'Watch your conversations live',
  help: `Usage: duo tail [conversation|partner] [-n N] [--all] [--as ID] [--broker URL]

Prints the last messages of your conversations (or of one), then every new message the moment
it is stored, partners coming online or going offline, and conversations the loop guard holds,
until Ctrl-C. It only reads: your agent's messages stay unread for it, and its live session is
left alone. It needs the owner token the broker keeps for its user (see \`duo token\`).

  -n, --lines N    Messages of backlog to show first (default 10; 0 for none)
  --all            Every conversation on the broker, not only this partner's
  --interval MS    How long to wait before reconnecting after the broker went away (default 1000)

  duo tail                 # everything this project's partner sees
  duo tail bob             # only the direct conversation with bob
  duo tail --as alice      # what partner "alice" sees
  duo tail --all           # every conversation of every agent`,
  async run(args, ctx) {
    const { values, positionals } = parse(args, {
      lines: { type: 'string', short: 'n' },
      interval: { type: 'string' },
      as: { type: 'string' },
      broker: { type: 'string' },
      all: { type: 'boolean' },
    });
    if (positionals.length > 1) throw new UsageError('Name at most one conversation.');
    if (values.all && values.as !== undefined)
      throw new UsageError('--all watches every conversation; leave out --as.');
    const lines = intFlag(values.lines, 'lines', 10, 0);
    const reconnectMs = intFlag(values.interval, 'interval', 1000, 100);
    const setup = cliSetup(ctx, { broker: values.broker });
    const access = ownerAccess(ctx.env);

    let view: TailView;
    let partner: PartnerView | undefined;
    let label: string;
    if (values.all) {
      const only = positionals[0] === undefined ? undefined : conversationArg(positionals[0]);
      view = new EveryView(only);
      label = `${only ?? 'every conversation'} on ${setup.config.brokerUrl}`;
    } else {
      const { partnerId: me, client } = actAs(setup, values.as);
      const only = positionals[0] === undefined ? undefined : resolveConversation(positionals[0], me);
      view = partner = new PartnerView(client, me, only);
      label = `${only ?? 'all your conversations'} as ${me} on ${setup.config.brokerUrl}`;
    }

    const tail = new Tail(view, ctx);
    const watch = new WatchClient(
      setup.config.brokerUrl,
      access,
      {
        frame: (frame) => tail.onFrame(frame),
        onDown: (error) => ctx.err(`${describeError(error)} Still watching; retrying.\n`),
        onUp: () => ctx.err('The broker answers again.\n'),
      },
      reconnectMs,
      // Without a partner's history, the backlog is the tail of the stream's replay.
      values.all && lines > 0 ? 0 : undefined,
    );
    const first = await watch.started;
    try {
      await tail.start(first.upTo, first.replayFrom, lines, partner);
      ctx.err(`Watching ${label} (read-only; nothing is marked read). Ctrl-C to stop.\n`);
      await new Promise<void>((resolve) => {
        process.once('SIGINT', resolve);
        process.once('SIGTERM', resolve);
      });
    } finally {
      watch.stop();
    }
    return 0;
  },
};

function conversationArg(value: string): string {
  const parsed = ConversationId.safeParse(value);
  if (!parsed.success)
    throw new UsageError(`With --all, name a conversation by its id ("direct:alice:bob", "group_…"), not "${value}".`);
  return parsed.data;
}

/** Prints frames in the order they came, after the backlog; each message once. */
class Tail {
  /** Highest message id printed or skipped: the stream is in id order, so this dedupes replays. */
  private highest = 0;
  private started = false;
  private early: WatchFrame[] = [];
  private queue: Promise<void> = Promise.resolve();
  private online = new Map<string, boolean>();
  private status = new Map<string, string | null>();
  /** While the stream replays the backlog (`--all`): where it ends, and the newest lines kept. */
  private replay: { upTo: number; lines: number; kept: Message[] } | undefined;

  constructor(
    private readonly view: TailView,
    private readonly ctx: CliContext,
  ) {}

  async start(upTo: number, replayFrom: number, lines: number, partner: PartnerView | undefined): Promise<void> {
    if (partner) {
      this.print(await partner.backlog(lines, upTo));
      this.online = await partner.presence();
      this.highest = upTo;
    } else if (lines > 0 && replayFrom < upTo) {
      this.replay = { upTo, lines, kept: [] };
    } else {
      this.highest = upTo;
    }
    this.started = true;
    for (const frame of this.early) this.onFrame(frame);
    this.early = [];
  }

  onFrame(frame: WatchFrame): void {
    if (!this.started) {
      this.early.push(frame);
      return;
    }
    this.queue = this.queue
      .then(() => this.handle(frame))
      .catch((error: unknown) => this.ctx.err(`${describeError(error)}\n`));
  }

  private async handle(frame: WatchFrame): Promise<void> {
    switch (frame.type) {
      case 'message':
        return this.message(frame.message);
      case 'presence': {
        const { partnerId, online, status } = frame;
        if (!this.view.isContact(partnerId)) return;
        if (this.online.get(partnerId) !== online) this.out(`· ${partnerId} ${online ? 'is online' : 'went offline'}`);
        else if (this.status.has(partnerId) && this.status.get(partnerId) !== status)
          this.out(`· ${partnerId}: ${status ? oneLine(status) : 'no status'}`);
        this.online.set(partnerId, online);
        this.status.set(partnerId, status);
        return;
      }
      case 'held': {
        const { hold } = frame;
        if (!(await this.view.shows(hold.conversationId))) return;
        const budget = describeLoopPolicy({ limit: hold.messages, windowMs: hold.windowSeconds * 1000 });
        this.out(
          `⏸ ${this.name(hold.conversationId)} is on hold: agents sent ${budget} with no human message. Resume: duo resume ${hold.conversationId}`,
        );
        return;
      }
      case 'released':
        if (!(await this.view.shows(frame.conversationId))) return;
        this.out(
          `▶ ${this.name(frame.conversationId)} resumed${frame.by === 'human_message' ? ': a human wrote in it' : ''}`,
        );
        return;
      case 'watching':
      case 'read':
      case 'pushed':
        return;
    }
  }

  private async message(message: Message): Promise<void> {
    if (message.id <= this.highest) return;
    this.highest = message.id;
    const replay = this.replay;
    if (replay && message.id <= replay.upTo) {
      if (await this.view.shows(message.conversationId)) replay.kept = [...replay.kept, message].slice(-replay.lines);
      if (message.id === replay.upTo) this.endReplay();
      return;
    }
    if (replay) this.endReplay();
    if (await this.view.shows(message.conversationId)) this.print([message]);
  }

  private endReplay(): void {
    this.print(this.replay?.kept ?? []);
    this.replay = undefined;
  }

  private name(conversationId: string): string {
    const name = conversationName(conversationId, this.view.me ?? '', this.view.known);
    return name === conversationId || name.endsWith(`(${conversationId})`) ? name : `${name} (${conversationId})`;
  }

  private print(messages: readonly Message[]): void {
    for (const message of messages) this.out(formatLine(message, this.view.me ?? '', this.view.known));
  }

  private out(line: string): void {
    this.ctx.out(`${line}\n`);
  }
}
