import { randomUUID } from 'node:crypto';
import { resolveTarget } from '../../client/resolve.ts';
import { parse, UsageError, type Command } from '../command.ts';
import { conversationName } from '../format.ts';
import { actAs } from '../acting.ts';
import { cliSetup } from '../identity.ts';

export const command: Command = {
  name: 'send',
  summary: 'Send a message',
  help: `Usage: duo send <partner|conversation> <text…> [--as ID] [--broker URL]

Sends a message as this project's partner (or --as ID). The target is a partner id or display
name (your direct conversation with them) or a conversation id ("direct:alice:bob", "group_…").
Use "-" as the text to read it from stdin.

  duo send bob "The schema changed: users.email is unique now"
  duo send group_3f9a1c "Deploy in 5 minutes"
  git diff --stat | duo send bob -`,
  async run(args, ctx) {
    const { values, positionals } = parse(args, { as: { type: 'string' }, broker: { type: 'string' } });
    const [target, ...words] = positionals;
    if (target === undefined || words.length === 0) throw new UsageError('Say who to send to and what.');
    const text = words.length === 1 && words[0] === '-' ? await readAll(ctx.stdin) : words.join(' ');
    if (text.trim() === '') throw new UsageError('The message is empty.');

    const { partnerId: me, client } = actAs(cliSetup(ctx, { broker: values.broker }), values.as);
    const where = await resolveTarget(target, me, async () => (await client.partners()).partners);
    const sent = await client.talk({ content: text, ...where, clientMsgId: `cli-${randomUUID()}` });
    ctx.out(
      `Sent #${sent.messageId} to ${conversationName(sent.conversationId, me)} (${sent.conversationId}) as ${me}.\n`,
    );
    return 0;
  },
};

async function readAll(stream: NodeJS.ReadableStream): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk));
  return Buffer.concat(chunks).toString('utf8').replace(/\n$/, '');
}
