import type { Hold } from '../../shared/console-protocol.ts';
import { describeError, DuoError } from '../../shared/errors.ts';
import { describeLoopPolicy } from '../../shared/loop-policy.ts';
import { parse, type Command, type Env } from '../command.ts';
import { oneLine } from '../format.ts';
import { actAs } from '../acting.ts';
import { cliSetup } from '../identity.ts';
import { localTime } from '../../client/display.ts';
import { OwnerClient, ownerAccess, type OwnerAccess } from '../../client/owner.ts';

export const command: Command = {
  name: 'who',
  summary: 'List partners',
  help: `Usage: duo who [--as ID] [--broker URL]

Lists every partner the broker knows: online or not, status, when last seen. You are marked "*".
Then the conversations the loop guard holds, when you have the owner token (see \`duo token\`).`,
  async run(args, ctx) {
    const { values } = parse(args, { as: { type: 'string' }, broker: { type: 'string' } }, false);
    const { partnerId: me, client } = actAs(cliSetup(ctx, { broker: values.broker }), values.as);
    const { partners } = await client.partners();
    if (partners.length === 0) {
      ctx.out('No partners yet.\n');
      return 0;
    }
    const rows = partners
      .slice()
      .sort((a, b) => Number(b.online) - Number(a.online) || a.id.localeCompare(b.id))
      .map((p) => [
        `${p.id === me ? '*' : ' '} ${p.id}`,
        p.name === p.id ? '' : oneLine(p.name),
        p.online ? 'online' : p.lastSeen ? `offline (seen ${localTime(p.lastSeen)})` : 'offline',
        p.status ? oneLine(p.status) : '',
      ]);
    const widths = [0, 1, 2].map((i) => Math.max(...rows.map((row) => row[i]!.length)));
    for (const row of rows)
      ctx.out(
        `${row
          .map((cell, i) => (i < 3 ? cell.padEnd(widths[i]!) : cell))
          .join('  ')
          .trimEnd()}\n`,
      );
    const online = partners.filter((p) => p.online).length;
    ctx.out(`${partners.length} partner${partners.length === 1 ? '' : 's'}, ${online} online. You are ${me}.\n`);
    for (const line of await holdLines(ctx.env, client.brokerUrl)) ctx.out(`${line}\n`);
    return 0;
  },
};

/** The loop guard's holds, one line each; none without the owner token (another user's broker). */
async function holdLines(env: Env, brokerUrl: string): Promise<string[]> {
  let access: OwnerAccess;
  try {
    access = ownerAccess(env);
  } catch {
    return [];
  }
  let holds: Hold[];
  try {
    ({ holds } = await new OwnerClient(brokerUrl, access).holds());
  } catch (error) {
    // A token for another broker (or user) shows nothing; anything else is worth a line.
    if (error instanceof DuoError && (error.code === 'unauthorized' || error.code === 'owner_required')) return [];
    return [`(The loop guard's holds could not be read: ${describeError(error)})`];
  }
  return holds.map((hold) => {
    const budget = describeLoopPolicy({ limit: hold.messages, windowMs: hold.windowSeconds * 1000 });
    return `⏸ ${hold.conversationId} is on hold since ${localTime(hold.heldAt)} (agents sent ${budget} with no human message). Resume: duo resume ${hold.conversationId}`;
  });
}
