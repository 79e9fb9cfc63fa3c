/**
 * What every client of the broker is configured with (the partner and the `duo` commands):
 * parsed once from the environment and flags into a typed object that is passed down. Nothing
 * else under src/client or src/partner reads process.env.
 */
import { isAbsolute, resolve } from 'node:path';
import { z } from 'zod';
import { parseConfig, positiveInt } from '../shared/config.ts';
import { RECONNECT_BASE_MS, RECONNECT_CAP_MS, PARTNER_REQUEST_TIMEOUT_MS } from '../shared/defaults.ts';
import { DEFAULT_BROKER_URL, secretsFilePath } from '../shared/paths.ts';
import { ownerTokenPath } from '../shared/owner-token.ts';
import { DisplayName, PartnerId } from '../shared/protocol.ts';

type Env = Record<string, string | undefined>;

const brokerUrl = z
  .string()
  .trim()
  .refine((value) => {
    try {
      const url = new URL(value);
      return url.protocol === 'http:' || url.protocol === 'https:';
    } catch {
      return false;
    }
  }, 'BROKER_URL must be an http:// or https:// URL such as http://localhost:3210')
  .transform((value) => value.replace(/\/+$/, ''));

export const ClientConfig = z.strictObject({
  brokerUrl: brokerUrl.default(DEFAULT_BROKER_URL),
  /** PARTNER_ID when set; otherwise identity.ts derives one from the project folder. */
  partnerId: PartnerId.optional(),
  /** PARTNER_NAME when set; otherwise the broker shows the id (or a name chosen with register). */
  name: DisplayName.optional(),
  token: z.string().min(1).optional(),
  /** The broker's owner-token file; its token is sent when DUO_TOKEN is not set. */
  ownerTokenFile: z.string().min(1).optional(),
  projectDir: z.string().min(1).refine(isAbsolute, 'the project directory must be an absolute path'),
  secretsFile: z.string().min(1),
  /** Every REST call and every WebSocket request gives up after this long: tools fail fast. */
  requestTimeoutMs: positiveInt.default(PARTNER_REQUEST_TIMEOUT_MS),
  reconnectBaseMs: positiveInt.default(RECONNECT_BASE_MS),
  reconnectCapMs: positiveInt.default(RECONNECT_CAP_MS),
});
export type ClientConfig = z.infer<typeof ClientConfig>;
export type ClientConfigInput = z.input<typeof ClientConfig>;

/**
 * The client settings the environment holds. The project is CLAUDE_PROJECT_DIR when Claude Code
 * sets it, else the working directory.
 */
export function clientSettingsFromEnv(env: Env, cwd: string): Record<string, unknown> {
  return {
    brokerUrl: env.BROKER_URL,
    partnerId: env.PARTNER_ID,
    name: env.PARTNER_NAME,
    token: env.DUO_TOKEN,
    ownerTokenFile: ownerTokenPath(env),
    projectDir: resolve(cwd, env.CLAUDE_PROJECT_DIR || '.'),
    secretsFile: secretsFilePath(env),
  };
}

/** Builds a client config from the environment, with `overrides` (flags) taking precedence. */
export function clientConfigFromEnv(env: Env, cwd: string, overrides: Partial<ClientConfigInput> = {}): ClientConfig {
  return parseConfig(ClientConfig, 'client', clientSettingsFromEnv(env, cwd), overrides);
}
