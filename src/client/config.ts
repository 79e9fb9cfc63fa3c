/**
 * What every client of the broker is configured with (the partner and the `duo` commands):
 * parsed once from the environment and flags into a typed object that is passed down. Nothing
 * else under src/client or src/partner reads process.env.
 */
import { isAbsolute, resolve } from 'node:path';
import { z } from 'zod';
import { booleanSetting, parseConfig, positiveInt } from '../shared/config.ts';
import { RECONNECT_BASE_MS, RECONNECT_CAP_MS, PARTNER_REQUEST_TIMEOUT_MS } from '../shared/defaults.ts';
import { DEFAULT_BROKER_URL, secretsFilePath } from '../shared/paths.ts';
import { ownerTokenPath } from '../shared/owner-token.ts';
import { checkPlainHttp, splitBrokerUrls } from './endpoint.ts';
import { DisplayName, PartnerId } from '../shared/protocol.ts';

type Env = Record<string, string | undefined>;

/**
 * BROKER_URL: one broker URL, or several of one team separated by commas. Each entry must be an
 * http:// or https:// URL without a user name or password (secrets travel in headers, never in
 * URLs). Normalised to the entries without trailing slashes, joined by commas: a single URL keeps
 * the exact form it always had, which is also the key of its secrets.
 */
const brokerUrl = z.string().transform((value, ctx) => {
  const urls = splitBrokerUrls(value);
  if (urls.length === 0) {
    ctx.addIssue({
      code: 'custom',
      message: 'BROKER_URL must name at least one broker, such as http://localhost:3210',
    });
    return z.NEVER;
  }
  for (const entry of urls) {
    const problem = brokerUrlProblem(entry);
    if (problem) {
      ctx.addIssue({ code: 'custom', message: `BROKER_URL entry ${JSON.stringify(entry)} ${problem}` });
      return z.NEVER;
    }
  }
  return urls.join(',');
});

/** What is wrong with one BROKER_URL entry, or undefined. */
function brokerUrlProblem(entry: string): string | undefined {
  let url: URL;
  try {
    url = new URL(entry);
  } catch {
    return 'is not a URL; write it as http://host:port or https://host:port';
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:')
    return 'must start with http:// or https://, such as https://duo.example:3210';
  if (url.username !== '' || url.password !== '')
    return 'must not carry a user name or password; set DUO_TOKEN for the access token instead';
  if (url.search !== '' || url.hash !== '') return 'must not have a query or fragment';
  return undefined;
}

export const ClientConfig = z.strictObject({
  brokerUrl: brokerUrl.default(DEFAULT_BROKER_URL),
  /** PARTNER_ID when set; otherwise identity.ts derives one from the project folder. */
  partnerId: PartnerId.optional(),
  /** PARTNER_NAME when set; otherwise the broker shows the id (or a name chosen with register). */
  name: DisplayName.optional(),
  token: z.string().min(1).optional(),
  /** DUO_ALLOW_PLAIN_HTTP=1: secrets may go over plain http to a broker on another machine. */
  allowPlainHttp: booleanSetting.default(false),
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
    allowPlainHttp: env.DUO_ALLOW_PLAIN_HTTP,
    ownerTokenFile: ownerTokenPath(env),
    projectDir: resolve(cwd, env.CLAUDE_PROJECT_DIR || '.'),
    secretsFile: secretsFilePath(env),
  };
}

/** Builds a client config from the environment, with `overrides` (flags) taking precedence. */
export function clientConfigFromEnv(env: Env, cwd: string, overrides: Partial<ClientConfigInput> = {}): ClientConfig {
  return checkedClientConfig(parseConfig(ClientConfig, 'client', clientSettingsFromEnv(env, cwd), overrides));
}

/** A parsed client config, after the checks that span fields: no secrets over plain http across a network. */
export function checkedClientConfig<C extends ClientConfig>(config: C): C {
  checkPlainHttp(splitBrokerUrls(config.brokerUrl), config.allowPlainHttp);
  return config;
}
