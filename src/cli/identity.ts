/**
 * Who a human command acts as. `duo send`, `tail`, `who`, `history` and the hooks speak as a
 * partner: `--as <id>` when given, else the partner of the current project, derived as the
 * partner derives it (PARTNER_ID, else the id this project (or a folder above the current one)
 * registered as according to the secrets store, else the folder's slug or its hashed fallback). The secret always comes from
 * the per-user secrets store; a missing one is explained with what to run.
 */
import { dirname } from 'node:path';
import { DuoError } from '../shared/errors.ts';
import { isPartnerId } from '../shared/ids.ts';
import type { Credentials } from '../client/broker-http.ts';
import { clientConfigFromEnv, type ClientConfig } from '../client/config.ts';
import { candidateIds, projectRealPath } from '../client/identity.ts';
import { SecretStore } from '../client/secrets.ts';
import type { CliContext } from './command.ts';

export interface CliSetup {
  config: ClientConfig;
  store: SecretStore;
  ensureBroker?: CliContext['ensureBroker'];
}

/** Config for a human command: environment, then `--broker` and the project folder. */
export function cliSetup(
  ctx: CliContext,
  options: { broker?: string | undefined; cwd?: string | undefined } = {},
): CliSetup {
  const config = clientConfigFromEnv(
    ctx.env,
    options.cwd ?? ctx.cwd,
    options.broker === undefined ? {} : { brokerUrl: options.broker },
  );
  return { config, store: new SecretStore(config.secretsFile), ensureBroker: ctx.ensureBroker };
}

/**
 * The partner id to act as, in order of preference; the first one with a stored secret wins.
 * Without `as`, a PARTNER_ID in the environment outranks what the store remembers for the project.
 */
export function candidatePartnerIds(setup: CliSetup, as?: string): string[] {
  const { config, store } = setup;
  if (as !== undefined) {
    if (!isPartnerId(as))
      throw new DuoError(
        'bad_request',
        `"${as}" is not a partner id (lower-case letters, digits, "_" and "-", up to 64).`,
      );
    return [as];
  }
  const derived = candidateIds({ config, store });
  if (config.partnerId !== undefined) return derived;
  // What this folder registered as comes first; the folder's own ids next; then, from a
  // subfolder, the partner of the nearest folder above that registered (as git finds its repo).
  const here = projectRealPath(config.projectDir);
  const own = store.getProjectPartner(config.brokerUrl, here);
  let above: string | undefined;
  for (let dir = dirname(here); above === undefined && dir !== dirname(dir); dir = dirname(dir)) {
    above = store.getProjectPartner(config.brokerUrl, dir);
  }
  return [...new Set([own, ...derived, above].filter((id): id is string => id !== undefined))];
}

/** The partner to act as, with its secret from the store; DuoError('unauthorized') when none is stored. */
export function partnerCredentials(setup: CliSetup, as?: string): Credentials {
  const { config, store } = setup;
  // What this folder registered as comes first (see candidatePartnerIds): found, it needs none of
  // the others (whose fallback id is a hash, and a hook need not load node:crypto for it).
  if (as === undefined && config.partnerId === undefined) {
    const own = store.getProjectPartner(config.brokerUrl, projectRealPath(config.projectDir));
    const secret = own === undefined ? undefined : store.getSecret(config.brokerUrl, own);
    if (own !== undefined && secret !== undefined) return { partnerId: own, secret };
  }
  const ids = candidatePartnerIds(setup, as);
  for (const partnerId of ids) {
    const secret = store.getSecret(config.brokerUrl, partnerId);
    if (secret !== undefined) return { partnerId, secret };
  }
  throw new DuoError('unauthorized', noSecretHelp(setup, ids[0]!, as !== undefined));
}

export function noSecretHelp({ config, store }: CliSetup, partnerId: string, explicit: boolean): string {
  return `No secret for partner "${partnerId}" on ${config.brokerUrl} in ${store.filePath}. ${noSecretFix(partnerId, explicit)}.`;
}

/** What to run when no secret is stored for `partnerId`. */
export function noSecretFix(partnerId: string, explicit: boolean): string {
  return explicit
    ? `Register it with \`duo register --as ${partnerId}\``
    : 'Start Claude Code in this project once (after `duo install`) so its partner registers, or run `duo register` here; use `--as <id>` to act as another partner you registered';
}
