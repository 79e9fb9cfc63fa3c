/**
 * Partner configuration: the client settings every broker client has, plus the inbox bounds,
 * the progress interval of a waiting `listen` and the log level.
 */
import { INBOX_MAX_BYTES, INBOX_MAX_MESSAGES, PROGRESS_INTERVAL_MS } from '../shared/defaults.ts';
import type { LogLevel } from '../shared/log.ts';
import { choiceSetting, parseSettings, positiveIntSetting } from '../shared/settings.ts';
import {
  checkedClientConfig,
  CLIENT_FIELDS,
  clientSettingsFromEnv,
  type ClientConfig,
  type ClientConfigInput,
} from '../client/config.ts';

const PARTNER_FIELDS = {
  ...CLIENT_FIELDS,
  inboxMaxMessages: { check: positiveIntSetting, default: INBOX_MAX_MESSAGES },
  inboxMaxBytes: { check: positiveIntSetting, default: INBOX_MAX_BYTES },
  /** How often a waiting `listen` sends an MCP progress notification. */
  progressIntervalMs: { check: positiveIntSetting, default: PROGRESS_INTERVAL_MS },
  logLevel: {
    check: choiceSetting<LogLevel>(['error', 'warn', 'info', 'debug', 'silent']),
    default: 'info' as LogLevel,
  },
};

export interface PartnerConfig extends ClientConfig {
  inboxMaxMessages: number;
  inboxMaxBytes: number;
  progressIntervalMs: number;
  logLevel: LogLevel;
}

export type PartnerConfigInput = ClientConfigInput & {
  [K in Exclude<keyof PartnerConfig, keyof ClientConfig>]?: string | number | undefined;
};

/** Builds the partner config from the environment, with `overrides` (flags) taking precedence. */
export function partnerConfigFromEnv(
  env: Record<string, string | undefined>,
  cwd: string,
  overrides: PartnerConfigInput = {},
): PartnerConfig {
  const fromEnv = { ...clientSettingsFromEnv(env, cwd), logLevel: env.DUO_LOG_LEVEL };
  return checkedClientConfig(parseSettings(PARTNER_FIELDS, 'partner', fromEnv, overrides) as PartnerConfig);
}
