import { ownerTokenPath, readOwnerToken, rotateOwnerToken } from '../../shared/owner-token.ts';
import { parse, UsageError, type Command } from '../command.ts';

export const command: Command = {
  name: 'token',
  summary: 'Print the owner token (--rotate: replace it)',
  help: `Usage: duo token [--rotate]

Prints the owner token: the secret that proves you are an owner of the broker (DUO_OWNER_TOKEN
when set, else the file the broker creates on its first start in
$XDG_CONFIG_HOME/claude-duo/owner-token, mode 0600). \`duo web\`, \`duo tail\`, \`duo who\` and
\`duo resume\` read it from there. Send it as the X-Duo-Token header to call the owner's routes
with curl. Anyone who has it can read every conversation; DUO_TOKEN, the join token every agent
of a team carries, is not it.

  --rotate  Replace the token in the file with a new one and print it. The broker of this user
            accepts only the new token from then on, without a restart; console sessions and
            partner secrets stay valid. (A token given as DUO_OWNER_TOKEN is changed where it is
            set, on every broker of the team.) Use it when the token may have leaked, or when Duo
            refuses the file (a link, another user's, or readable by others).

The file is read without following links, and refused when it belongs to another user or
others can read it; Duo never puts such a token back into use.`,
  async run(args, ctx) {
    const { values } = parse(args, { rotate: { type: 'boolean' } }, false);
    if (values.rotate) {
      if (ctx.env.DUO_OWNER_TOKEN)
        throw new UsageError(
          'The owner token comes from DUO_OWNER_TOKEN here, not from a file: give every broker of the team (and its owners) a new value, and restart the brokers.',
        );
      const path = ownerTokenPath(ctx.env);
      ctx.out(`${rotateOwnerToken(path, (message) => ctx.err(`duo: ${message}\n`))}\n`);
      ctx.err(`(new token written to ${path}; the old one no longer works; keep this one private)\n`);
      return 0;
    }
    ctx.out(`${readOwnerToken(ctx.env)}\n`);
    const from = ctx.env.DUO_OWNER_TOKEN ? 'DUO_OWNER_TOKEN' : ownerTokenPath(ctx.env);
    if (ctx.interactive) ctx.err(`(from ${from}; keep it private)\n`);
    return 0;
  },
};
