import { HISTORY_DEFAULT_LIMIT } from '../../shared/defaults.ts';
import { MAX_HISTORY_LIMIT } from '../../shared/limits.ts';
import { receiptLine } from '../../client/display.ts';
import { resolveConversation } from '../../client/resolve.ts';
import { intFlag, parse, UsageError, type Command } from '../command.ts';
import { formatLine } from '../format.ts';
import { actAs } from '../acting.ts';
import { cliSetup } from '../identity.ts';

/** Receipts go under the message text, where formatLine indents continuation lines at most. */
const RECEIPT_INDENT = ' '.repeat(24);

export const command: Command = {
  name: 'history',
  summary: 'Show the messages of a conversation',
  help: `Usage: duo history <conversation|partner> [--limit N] [--before ID] [--as ID] [--broker URL]

Prints the newest messages of a conversation, oldest first. Reading history never marks anything
read. A partner id means your direct conversation with them. Under each of your own messages:
how far it got for each recipient (seen by its model, pushed to its session, or stored).

  --limit N    How many (default ${HISTORY_DEFAULT_LIMIT}, at most ${MAX_HISTORY_LIMIT})
  --before ID  Only messages older than message #ID (to page back)`,
  async run(args, ctx) {
    const { values, positionals } = parse(args, {
      limit: { type: 'string' },
      before: { type: 'string' },
      as: { type: 'string' },
      broker: { type: 'string' },
    });
    if (positionals.length !== 1)
      throw new UsageError('Name one conversation (an id from "duo tail", or a partner id).');
    const limit = intFlag(values.limit, 'limit', HISTORY_DEFAULT_LIMIT, 1);
    const before = values.before === undefined ? undefined : intFlag(values.before, 'before', 0, 1);
    const { partnerId: me, client } = actAs(cliSetup(ctx, { broker: values.broker }), values.as);
    const conversationId = resolveConversation(positionals[0]!, me);
    const known = new Map((await client.conversations()).conversations.map((c) => [c.id, c]));
    const { messages, hasMore } = await client.history(conversationId, {
      limit,
      ...(before === undefined ? {} : { before }),
    });
    if (messages.length === 0)
      ctx.out(`No messages in ${conversationId}${before === undefined ? '' : ` before #${before}`}.\n`);
    for (const message of messages) {
      ctx.out(`${formatLine(message, me, known)}\n`);
      const receipts = message.from === me ? receiptLine(message.receipts) : '';
      if (receipts) ctx.out(`${RECEIPT_INDENT}${receipts}\n`);
    }
    if (hasMore) ctx.out(`… older messages: duo history ${conversationId} --before ${messages[0]!.id}\n`);
    return 0;
  },
};
