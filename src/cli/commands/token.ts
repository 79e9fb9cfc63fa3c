import { ownerTokenPath, readOwnerToken } from '../../shared/owner-token.ts';
import { parse, type Command } from '../command.ts';

export const command: Command = {
  name: 'token',
  summary: 'Print the owner token',
  help: `Usage: duo token

Prints the owner token: the secret that proves you are an owner of the broker (DUO_OWNER_TOKEN
when set, else the file the broker creates on its first start in
$XDG_CONFIG_HOME/claude-duo/owner-token, mode 0600). \`duo web\`, \`duo tail\`, \`duo who\` and
\`duo resume\` read it from there. Send it as the X-Duo-Token header to call the owner's routes
with curl. Anyone who has it can read every conversation; DUO_TOKEN, the join token every agent
of a team carries, is not it.`,
  async run(args, ctx) {
    parse(args, {}, false);
    ctx.out(`${readOwnerToken(ctx.env)}\n`);
    const from = ctx.env.DUO_OWNER_TOKEN ? 'DUO_OWNER_TOKEN' : ownerTokenPath(ctx.env);
    if (ctx.interactive) ctx.err(`(from ${from}; keep it private)\n`);
    return 0;
  },
};
