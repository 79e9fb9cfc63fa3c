import { DEFAULT_BROKER_URL } from '../../shared/paths.ts';
import { DisplayName, MAX_NAME_LENGTH } from '../../shared/protocol.ts';
import { preferredPartnerId, registerIdentity } from '../../client/identity.ts';
import { parse, UsageError, type Command } from '../command.ts';
import { brokerClient } from '../acting.ts';
import { cliSetup } from '../identity.ts';

export const command: Command = {
  name: 'register',
  summary: 'Register a partner id and keep its secret',
  help: `Usage: duo register [--as ID] [--name NAME] [--broker URL]

Registers a partner with the broker and stores its secret in your per-user secrets file
($XDG_CONFIG_HOME/claude-duo/secrets.json), so "duo send", "tail", "who", "history" and the hooks
can act as it. The secret is never printed.

Without --as it registers this project's partner exactly as the MCP partner would (PARTNER_ID,
else the folder name; a hashed fallback when another project owns that id). Running it again is
harmless: a partner whose secret you hold is re-registered, not duplicated.

  --as ID       Register this id instead (e.g. "$USER-cli" for a human identity of your own)
  --name NAME   Display name (PARTNER_NAME)
  --broker URL  Broker to use (BROKER_URL, default ${DEFAULT_BROKER_URL})`,
  async run(args, ctx) {
    const { values } = parse(
      args,
      { as: { type: 'string' }, name: { type: 'string' }, broker: { type: 'string' } },
      false,
    );
    const setup = cliSetup(ctx, { broker: values.broker });
    const { config, store } = setup;
    const name = values.name === undefined ? undefined : DisplayName.safeParse(values.name);
    if (name && !name.success) throw new UsageError(`--name must be 1-${MAX_NAME_LENGTH} characters.`);
    const client = brokerClient(setup);

    let partnerId: string;
    let created: boolean;
    if (values.as === undefined) {
      const identity = await registerIdentity({ config, store, client }, name ? { name: name.data } : {});
      ({ partnerId, created } = identity);
      if (identity.fallback)
        ctx.out(
          `The id "${preferredPartnerId(config)}" belongs to another project; this project uses "${partnerId}".\n`,
        );
    } else {
      partnerId = values.as;
      const held = store.getSecret(config.brokerUrl, partnerId);
      const reply = await client.register({ partnerId, ...(name ? { name: name.data } : {}) }, held);
      const secret = reply.secret ?? held;
      if (secret !== undefined) store.saveSecret(config.brokerUrl, partnerId, secret);
      created = reply.created;
    }
    ctx.out(
      `${created ? 'Registered' : 'Re-registered'} "${partnerId}" on ${config.brokerUrl}; its secret is in ${store.filePath}.\n`,
    );
    return 0;
  },
};
