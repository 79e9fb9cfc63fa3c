/**
 * Partner configuration, parsed once from the environment into a typed object that is passed
 * down. Nothing else under src/partner reads process.env.
 */
import { isAbsolute, resolve } from 'node:path';
import { z } from 'zod';
import { parseConfig, positiveInt } from '../shared/config.ts';
import { DEFAULT_BROKER_URL, secretsFilePath } from '../shared/paths.ts';
import { DisplayName, PartnerId } from '../shared/protocol.ts';

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

export const PartnerConfig = z.strictObject({
  brokerUrl: brokerUrl.default(DEFAULT_BROKER_URL),
  /** PARTNER_ID when set; otherwise identity.ts derives one from the project folder. */
  partnerId: PartnerId.optional(),
  /** PARTNER_NAME when set; otherwise the broker shows the id (or a name chosen with register). */
  name: DisplayName.optional(),
  token: z.string().min(1).optional(),
  projectDir: z.string().min(1).refine(isAbsolute, 'the project directory must be an absolute path'),
  secretsFile: z.string().min(1),
  /** Every REST call and every WebSocket request gives up after this long: tools fail fast. */
  requestTimeoutMs: positiveInt.default(3_000),
  reconnectBaseMs: positiveInt.default(250),
  reconnectCapMs: positiveInt.default(10_000),
  inboxMaxMessages: positiveInt.default(1_000),
  inboxMaxBytes: positiveInt.default(8 * 1024 * 1024),
  /** How often a waiting `listen` sends an MCP progress notification. */
  progressIntervalMs: positiveInt.default(10_000),
  logLevel: z.enum(['error', 'warn', 'info', 'debug', 'silent']).default('info'),
});
export type PartnerConfig = z.infer<typeof PartnerConfig>;
export type PartnerConfigInput = z.input<typeof PartnerConfig>;

/**
 * Builds the partner config from the environment. The project is CLAUDE_PROJECT_DIR when Claude
 * Code sets it, else the working directory Claude Code started us in.
 */
export function partnerConfigFromEnv(
  env: Record<string, string | undefined>,
  cwd: string,
  overrides: Partial<PartnerConfigInput> = {},
): PartnerConfig {
  const fromEnv: Record<string, unknown> = {
    brokerUrl: env.BROKER_URL,
    partnerId: env.PARTNER_ID,
    name: env.PARTNER_NAME,
    token: env.DUO_TOKEN,
    projectDir: resolve(cwd, env.CLAUDE_PROJECT_DIR || '.'),
    secretsFile: secretsFilePath(env),
    logLevel: env.DUO_LOG_LEVEL,
  };
  return parseConfig(PartnerConfig, 'partner', fromEnv, overrides);
}
