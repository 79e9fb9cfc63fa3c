/**
 * Who this partner is. The id is PARTNER_ID, else the project folder's slug; when
 * another project already owns it, the slug plus a short hash of this project's real path. The
 * secret the first registration returns goes to the per-user secrets file, together with the id
 * the project ended up with, so a restart comes back as the same partner.
 */
import { realpathSync } from 'node:fs';
import { resolve } from 'node:path';
import { DuoError } from '../shared/errors.ts';
import { fallbackPartnerId, partnerIdForFolder } from '../shared/ids.ts';
import type { ClientConfig } from './config.ts';
import type { BrokerClient } from './rest.ts';
import type { SecretStore } from './secrets.ts';

export interface Identity {
  partnerId: string;
  name: string;
  secret: string;
  /** True when the preferred id belonged to someone else and the hashed fallback is in use. */
  fallback: boolean;
  /** True when this registration created the id on the broker. */
  created: boolean;
}

export interface IdentityDeps {
  config: Pick<ClientConfig, 'brokerUrl' | 'partnerId' | 'name' | 'projectDir'>;
  store: SecretStore;
  client: BrokerClient;
}

export function projectRealPath(projectDir: string): string {
  try {
    return realpathSync(projectDir);
  } catch {
    return resolve(projectDir);
  }
}

/** The id this project asks for first: PARTNER_ID, else the folder's slug. */
export function preferredPartnerId(config: Pick<ClientConfig, 'partnerId' | 'projectDir'>): string {
  return config.partnerId ?? partnerIdForFolder(config.projectDir);
}

/**
 * The ids to try, in order: the one this project registered last time (when it is still one of
 * the two candidates, so renaming the folder or changing PARTNER_ID takes effect), the preferred
 * id, then its fallback.
 */
export function candidateIds(deps: Pick<IdentityDeps, 'config' | 'store'>): string[] {
  const realPath = projectRealPath(deps.config.projectDir);
  const preferred = preferredPartnerId(deps.config);
  const fallback = fallbackPartnerId(preferred, realPath);
  const remembered = deps.store.getProjectPartner(deps.config.brokerUrl, realPath);
  const ordered = remembered === fallback ? [fallback, preferred] : [preferred, fallback];
  return ordered;
}

/**
 * Registers with the broker, trying the candidate ids in order. `name` is sent when the model
 * chose one with register(name), or when PARTNER_NAME changed since it was last sent, so a name
 * chosen with register(name) survives restarts (the broker keeps the stored name otherwise).
 */
export async function registerIdentity(deps: IdentityDeps, options: { name?: string } = {}): Promise<Identity> {
  const { config, store, client } = deps;
  const realPath = projectRealPath(config.projectDir);
  const preferred = preferredPartnerId(config);
  const candidates = candidateIds(deps);
  const refusals: string[] = [];

  for (const partnerId of candidates) {
    const record = store.getPartner(config.brokerUrl, partnerId);
    const envName = config.name !== undefined && config.name !== record?.envName ? config.name : undefined;
    const name = options.name ?? envName;
    let reply;
    try {
      reply = await client.register(
        { partnerId, projectPath: realPath, ...(name === undefined ? {} : { name }) },
        record?.secret,
      );
    } catch (error) {
      // id_taken: the id exists and we hold no secret for it; unauthorized: the secret we hold is
      // not the one the broker has. Either way the id is someone else's: try the next one.
      if (error instanceof DuoError && (error.code === 'id_taken' || error.code === 'unauthorized')) {
        refusals.push(`"${partnerId}" (${error.code})`);
        continue;
      }
      throw error;
    }
    const secret = reply.secret ?? record?.secret;
    if (!secret) {
      throw new DuoError(
        'internal',
        `The broker accepted "${partnerId}" without handing out a secret and none is stored; the broker may be misconfigured.`,
      );
    }
    store.savePartner(config.brokerUrl, partnerId, {
      secret,
      ...(config.name === undefined ? {} : { envName: config.name }),
    });
    store.setProjectPartner(config.brokerUrl, realPath, partnerId);
    return {
      partnerId: reply.partnerId,
      name: reply.name,
      secret,
      fallback: partnerId !== preferred,
      created: reply.created,
    };
  }
  throw new DuoError(
    'id_taken',
    `The partner ids ${refusals.join(' and ')} belong to another project or user on ${config.brokerUrl}. Set PARTNER_ID in this project's MCP configuration to an unused id, then restart the session.`,
  );
}
