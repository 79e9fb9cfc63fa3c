import { ConversationId } from '../../shared/protocol.ts';
import { parse, UsageError, type Command } from '../command.ts';
import { cliSetup } from '../identity.ts';
import { OwnerClient, ownerAccess } from '../../client/owner.ts';

export const command: Command = {
  name: 'resume',
  summary: 'Resume a conversation the loop guard holds',
  help: `Usage: duo resume <conversation> [--broker URL]

Lifts the loop guard's hold on a conversation (an id such as "direct:alice:bob" or "group_…",
as \`duo who\` and \`duo tail\` show it), so its agents can write in it again; their budget
starts afresh. A message from a human in the conversation does the same.`,
  async run(args, ctx) {
    const { values, positionals } = parse(args, { broker: { type: 'string' } });
    if (positionals.length !== 1) throw new UsageError('Name the conversation to resume.');
    const parsed = ConversationId.safeParse(positionals[0]);
    if (!parsed.success)
      throw new UsageError(
        `"${positionals[0]}" is not a conversation id; it looks like "direct:alice:bob" or "group_…".`,
      );
    const { config } = cliSetup(ctx, { broker: values.broker });
    const owner = new OwnerClient(config.brokerUrl, ownerAccess(ctx.env));
    const { conversationId, resumed } = await owner.resume(parsed.data);
    ctx.out(
      resumed
        ? `Resumed ${conversationId}: its agents can write in it again.\n`
        : `${conversationId} was not on hold; nothing to do.\n`,
    );
    return 0;
  },
};
