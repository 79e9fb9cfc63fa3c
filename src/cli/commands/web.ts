import { spawn } from 'node:child_process';
import { userInfo } from 'node:os';
import { slugify } from '../../shared/ids.ts';
import { PartnerId } from '../../shared/protocol.ts';
import { parse, UsageError, type CliContext, type Command } from '../command.ts';
import { cliSetup } from '../identity.ts';
import { OwnerClient, ownerAccess } from '../../client/owner.ts';

export const command: Command = {
  name: 'web',
  summary: 'Open the web console',
  help: `Usage: duo web [--open] [--as ID] [--name NAME] [--broker URL]

Prints a one-time URL that logs a browser in to the broker's web console: every conversation
live, sending as yourself, groups, partners and the loop guard. The URL works once, within two
minutes; the browser tab that opened it then keeps a session for 12 hours (another tab asks for
a new URL). It needs the owner token: the file the broker keeps for its user on this machine, or
DUO_OWNER_TOKEN (see \`duo token\`); DUO_TOKEN, the team's join token, is not enough.

In the console you are a human identity of your own, which agents can message and which joins
groups like any member. Your messages reset the loop guard.

  --open       Also open the URL in the default browser
  --as ID      Your identity in the console (default: your user name, "${defaultHumanId({})}" here)
  --name NAME  Your display name`,
  async run(args, ctx) {
    const { values } = parse(
      args,
      { open: { type: 'boolean' }, as: { type: 'string' }, name: { type: 'string' }, broker: { type: 'string' } },
      false,
    );
    const partnerId = values.as ?? defaultHumanId(ctx.env);
    if (!PartnerId.safeParse(partnerId).success)
      throw new UsageError(`"${partnerId}" is not an id: lower-case letters, digits, "_" and "-", up to 64.`);
    const { config } = cliSetup(ctx, { broker: values.broker });
    const owner = new OwnerClient(config.brokerUrl, ownerAccess(ctx.env));
    const login = await owner.mintLogin(partnerId, values.name);
    const url = `${owner.brokerUrl}${login.path}`;
    ctx.out(`${url}\n`);
    ctx.err(
      `Open this link within two minutes; it works once. In the console you are "${login.partnerId}" (a human).\n`,
    );
    if (values.open) openBrowser(url, ctx);
    return 0;
  },
};

/** The OS user name as an id, else "human". */
function defaultHumanId(env: Record<string, string | undefined>): string {
  let name = env.USER || env.LOGNAME || '';
  if (!name) {
    try {
      name = userInfo().username;
    } catch {
      name = '';
    }
  }
  return slugify(name) || 'human';
}

function openBrowser(url: string, ctx: CliContext): void {
  const [command, args] =
    process.platform === 'darwin'
      ? ['open', [url]]
      : process.platform === 'win32'
        ? ['cmd', ['/c', 'start', '""', url]]
        : ['xdg-open', [url]];
  const child = spawn(command, args, { stdio: 'ignore', detached: true });
  child.on('error', (error) => ctx.err(`Could not open a browser (${error.message}); open the link yourself.\n`));
  child.unref();
}
