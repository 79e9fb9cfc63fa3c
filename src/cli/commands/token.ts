import { ownerTokenPath, readOwnerTokenFile, rotateOwnerToken } from '../../shared/owner-token.ts';
import { parse, type Command } from '../command.ts';

export const command: Command = {
  name: 'token',
  summary: 'Print the owner token, or replace it with --rotate',
  help: `Usage: duo token [--rotate]

Prints the owner token: the secret that proves you are the user who runs the broker. The broker
creates it on its first start in $XDG_CONFIG_HOME/claude-duo/owner-token (mode 0600); \`duo web\`,
\`duo tail\`, \`duo who\` and \`duo resume\` read it from there. Send it as the X-Duo-Token header
to call the owner's routes with curl. Anyone who has it can read every conversation.

--rotate  writes a new token in its place and prints it. A running broker of this user reads the
          new file at its next owner request and no longer accepts the old token. Use it when the
          token may have leaked, or when Duo refuses the file (a link, another user's, or
          readable by others).

The file is read without following links, and refused when it belongs to another user or
others can read it; Duo never puts such a token back into use.`,
  async run(args, ctx) {
    const { values } = parse(args, { rotate: { type: 'boolean' } }, false);
    const path = ownerTokenPath(ctx.env);
    if (values.rotate) {
      ctx.out(`${rotateOwnerToken(path, (message) => ctx.err(`duo: ${message}\n`))}\n`);
      if (ctx.interactive) ctx.err(`(new token written to ${path}; the old one no longer works)\n`);
      return 0;
    }
    ctx.out(`${readOwnerTokenFile(ctx.env)}\n`);
    if (ctx.interactive) ctx.err(`(from ${path}; keep it private)\n`);
    return 0;
  },
};
