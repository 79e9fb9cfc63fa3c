/**
 * Configuration, parsed once from environment and flags into a typed object that is
 * passed down. Nothing below main.ts reads process.env.
 */
import { accessSync, constants } from 'node:fs';
import * as z from 'zod';
import { DuoError } from './errors.ts';
import {
  HEARTBEAT_MS,
  HELLO_TIMEOUT_MS,
  MAX_BODY_BYTES,
  MAX_LISTEN_SECONDS,
  RATE_LIMIT_BURST,
  RATE_LIMIT_PER_SECOND,
} from './limits.ts';
import { DEFAULT_LOOP_GUARD, parseLoopPolicy } from './loop-policy.ts';
import { ownerTokenPath } from './owner-token.ts';
import { DEFAULT_PORT, defaultDbPath } from './paths.ts';
import { booleanSettingOf, givenSettings, invalidConfig, positiveIntSetting, type Checked } from './settings.ts';
import { describeIssues } from './protocol.ts';

const LOOPBACK_HOSTS = new Set(['127.0.0.1', 'localhost', '::1', '[::1]']);

export function isLoopbackHost(host: string): boolean {
  return LOOPBACK_HOSTS.has(host) || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host);
}

const port = z
  .union([
    z.int(),
    z
      .string()
      .regex(/^\d{1,5}$/, 'must be a port number')
      .transform(Number),
  ])
  .pipe(z.int().min(0).max(65535));
/** A zod schema for a setting checked in settings.ts (the clients check them without zod). */
function setting<T>(check: (value: unknown) => Checked<T>) {
  return z.unknown().transform((value, ctx) => {
    const checked = check(value);
    if (checked.ok) return checked.value;
    ctx.addIssue({ code: 'custom', message: checked.problem });
    return z.NEVER;
  });
}
/** A whole number of at least 1, given as a number (flags, tests) or a string (environment). */
export const positiveInt = setting(positiveIntSetting);
/** On or off, given as a boolean (flags, tests) or as 1/0/true/false (environment). */
export const booleanSetting = setting(booleanSettingOf);
const list = z.union([
  z.array(z.string()),
  z.string().transform((s) =>
    s
      .split(',')
      .map((x) => x.trim())
      .filter(Boolean),
  ),
]);

const loopGuardSetting = z.string().transform((text, ctx) => {
  try {
    return parseLoopPolicy(text);
  } catch (error) {
    ctx.addIssue({ code: 'custom', message: (error as Error).message });
    return z.NEVER;
  }
});

export const BrokerConfig = z.strictObject({
  port: port.default(DEFAULT_PORT),
  host: z.string().min(1).default('127.0.0.1'),
  dbPath: z.string().min(1),
  token: z.string().min(16, 'DUO_TOKEN must be at least 16 characters').optional(),
  /** Bearer token for GET /metrics on a broker bound beyond loopback (loopback needs none). */
  metricsToken: z.string().min(16, 'DUO_METRICS_TOKEN must be at least 16 characters').optional(),
  /** Origins (scheme://host:port) allowed to call the broker; none by default. */
  allowedOrigins: list.default([]),
  /** Extra host names the broker answers to, besides loopback names and its bind address. */
  allowedHosts: list.default([]),
  heartbeatMs: positiveInt.default(HEARTBEAT_MS),
  helloTimeoutMs: positiveInt.default(HELLO_TIMEOUT_MS),
  /** Requests (or frames) per second per partner, with a burst of `rateBurst`. */
  rateLimit: positiveInt.default(RATE_LIMIT_PER_SECOND),
  rateBurst: positiveInt.default(RATE_LIMIT_BURST),
  bodyLimit: positiveInt.default(MAX_BODY_BYTES),
  /** Longest REST long-poll, in seconds. */
  maxListenSeconds: positiveInt.default(MAX_LISTEN_SECONDS),
  logLevel: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  /**
   * The owner token given outright (DUO_OWNER_TOKEN), so every broker of a team accepts the same
   * one; when unset the broker reads (or creates) its owner-token file.
   */
  ownerToken: z.string().min(16, 'DUO_OWNER_TOKEN must be at least 16 characters').optional(),
  /** Where the owner token lives; unset (in-process test brokers) keeps a random one in memory. */
  ownerTokenPath: z.string().min(1).optional(),
  /** PEM certificate chain and private key: when both are set the broker serves HTTPS and WSS. */
  tlsCert: z.string().min(1).optional(),
  tlsKey: z.string().min(1).optional(),
  /** Lets a broker bound beyond loopback serve plain HTTP (a trusted network, or TLS ended by a proxy). */
  allowPlainHttp: booleanSetting.default(false),
  /** Loop guard: `N/T` such as "20/5m", or "off" (parsed to null). */
  loopGuard: loopGuardSetting.prefault(DEFAULT_LOOP_GUARD),
});
export type BrokerConfig = z.infer<typeof BrokerConfig>;
export type BrokerConfigInput = z.input<typeof BrokerConfig>;

/** Builds the broker config from the environment, with `overrides` (CLI flags) taking precedence. */
export function brokerConfigFromEnv(
  env: Record<string, string | undefined>,
  overrides: Partial<BrokerConfigInput> = {},
): BrokerConfig {
  const fromEnv: Record<string, unknown> = {
    port: env.BROKER_PORT,
    host: env.BROKER_HOST,
    dbPath: env.DUO_DB || defaultDbPath(env),
    token: env.DUO_TOKEN || undefined,
    metricsToken: env.DUO_METRICS_TOKEN || undefined,
    allowedOrigins: env.DUO_ALLOWED_ORIGINS,
    allowedHosts: env.DUO_ALLOWED_HOSTS,
    rateLimit: env.DUO_RATE_LIMIT,
    logLevel: env.DUO_LOG_LEVEL,
    ownerToken: env.DUO_OWNER_TOKEN || undefined,
    ownerTokenPath: ownerTokenPath(env),
    loopGuard: env.DUO_LOOP_GUARD,
    tlsCert: env.DUO_TLS_CERT,
    tlsKey: env.DUO_TLS_KEY,
    allowPlainHttp: env.DUO_ALLOW_PLAIN_HTTP,
  };
  return checkBrokerConfig(parseConfig(BrokerConfig, 'broker', fromEnv, overrides));
}

/**
 * The checks that span settings. TLS needs both files, readable. A broker other machines can
 * reach needs the access token (or anyone there could read and send messages) and TLS (or the
 * token and every partner's secret cross the network in clear), unless plain HTTP is allowed.
 */
export function checkBrokerConfig(config: BrokerConfig): BrokerConfig {
  if ((config.tlsCert === undefined) !== (config.tlsKey === undefined)) {
    throw new DuoError(
      'bad_request',
      `TLS needs both a certificate and its private key: set ${config.tlsCert === undefined ? '--tls-cert (DUO_TLS_CERT)' : '--tls-key (DUO_TLS_KEY)'} too, or neither.`,
    );
  }
  for (const [flag, file] of [
    ['--tls-cert', config.tlsCert],
    ['--tls-key', config.tlsKey],
  ] as const) {
    if (file === undefined) continue;
    try {
      accessSync(file, constants.R_OK);
    } catch (error) {
      throw new DuoError(
        'bad_request',
        `Cannot read the ${flag} file ${file} (${(error as NodeJS.ErrnoException).code ?? (error as Error).message}): give the path of a PEM file this user can read.`,
      );
    }
  }
  if (config.ownerToken !== undefined && config.ownerToken === config.token) {
    throw new DuoError(
      'bad_request',
      'DUO_OWNER_TOKEN and DUO_TOKEN are the same: every agent carries DUO_TOKEN, so it would make every agent an owner. Give the owner token its own long random value.',
    );
  }
  if (config.metricsToken !== undefined && [config.token, config.ownerToken].includes(config.metricsToken)) {
    throw new DuoError(
      'bad_request',
      'DUO_METRICS_TOKEN must differ from DUO_TOKEN and the owner token: whoever scrapes metrics must not be able to read or send messages. Choose another long random string.',
    );
  }
  if (isLoopbackHost(config.host)) return config;
  if (!config.token) {
    throw new DuoError(
      'token_required',
      `Refusing to listen on ${config.host} without an access token: anyone who can reach that address could read and send messages. Set DUO_TOKEN (or --token) to a long random string, or bind 127.0.0.1.`,
    );
  }
  if (config.tlsCert === undefined && !config.allowPlainHttp) {
    throw new DuoError(
      'bad_request',
      `Refusing to listen on ${config.host} over plain HTTP: the access token and every partner's secret would cross the network in clear. Serve TLS with --tls-cert FILE --tls-key FILE (DUO_TLS_CERT, DUO_TLS_KEY), or, on a network you trust (or behind a proxy that ends TLS), pass --allow-plain-http (DUO_ALLOW_PLAIN_HTTP=1).`,
    );
  }
  return config;
}

/**
 * Parses environment values with flags (`overrides`) taking precedence; unset and empty values
 * fall back to the schema's defaults. A failure names the setting and what is wrong with it.
 */
export function parseConfig<S extends z.ZodType>(
  schema: S,
  what: string,
  fromEnv: Record<string, unknown>,
  overrides: Record<string, unknown>,
): z.infer<S> {
  const parsed = schema.safeParse(Object.fromEntries(givenSettings(fromEnv, overrides)));
  if (!parsed.success) throw invalidConfig(what, describeIssues(parsed.error));
  return parsed.data;
}
