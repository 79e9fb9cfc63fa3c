import { ownerTokenPath, readOwnerTokenFile } from '../../shared/owner-token.ts';
import { parse, type Command } from '../command.ts';

export const command: Command = {
  name: 'token',
  summary: 'Print the owner token',
  help: `Usage: duo token

Prints the owner token: the secret that proves you are the user who runs the broker. The broker
creates it on its first start in $XDG_CONFIG_HOME/claude-duo/owner-token (mode 0600); \`duo web\`,
\`duo tail\`, \`duo who\` and \`duo resume\` read it from there. Send it as the X-Duo-Token header
to call the owner's routes with curl. Anyone who has it can read every conversation.`,
  async run(args, ctx) {
    parse(args, {}, false);
    ctx.out(`${readOwnerTokenFile(ctx.env)}\n`);
    if (ctx.interactive) ctx.err(`(from ${ownerTokenPath(ctx.env)}; keep it private)\n`);
    return 0;
  },
};
