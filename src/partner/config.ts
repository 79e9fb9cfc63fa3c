/**
 * Partner configuration: the client settings every broker client has, plus the inbox bounds,
 * the progress interval of a waiting `listen` and the log level.
 */
import { z } from 'zod';
import { parseConfig, positiveInt } from '../shared/config.ts';
import { INBOX_MAX_BYTES, INBOX_MAX_MESSAGES, PROGRESS_INTERVAL_MS } from '../shared/defaults.ts';
import { checkedClientConfig, ClientConfig, clientSettingsFromEnv } from '../client/config.ts';

export const PartnerConfig = ClientConfig.extend({
  inboxMaxMessages: positiveInt.default(INBOX_MAX_MESSAGES),
  inboxMaxBytes: positiveInt.default(INBOX_MAX_BYTES),
  /** How often a waiting `listen` sends an MCP progress notification. */
  progressIntervalMs: positiveInt.default(PROGRESS_INTERVAL_MS),
  logLevel: z.enum(['error', 'warn', 'info', 'debug', 'silent']).default('info'),
});
export type PartnerConfig = z.infer<typeof PartnerConfig>;
export type PartnerConfigInput = z.input<typeof PartnerConfig>;

/** Builds the partner config from the environment, with `overrides` (flags) taking precedence. */
export function partnerConfigFromEnv(
  env: Record<string, string | undefined>,
  cwd: string,
  overrides: Partial<PartnerConfigInput> = {},
): PartnerConfig {
  const fromEnv = { ...clientSettingsFromEnv(env, cwd), logLevel: env.DUO_LOG_LEVEL };
  return checkedClientConfig(parseConfig(PartnerConfig, 'partner', fromEnv, overrides));
}
