import { parse, type Command } from '../command.ts';
import { oneLine } from '../format.ts';
import { actAs, cliSetup } from '../identity.ts';
import { localTime } from '../../client/display.ts';

export const command: Command = {
  name: 'who',
  summary: 'List partners',
  help: `Usage: duo who [--as ID] [--broker URL]

Lists every partner the broker knows: online or not, status, when last seen. You are marked "*".`,
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
    return 0;
  },
};
