/**
 * What every client of the broker is configured with (the partner and the `duo` commands):
 * parsed once from the environment and flags into a typed object that is passed down. Nothing
 * else under src/client or src/partner reads process.env.
 */
import { isAbsolute, resolve } from 'node:path';
import { RECONNECT_BASE_MS, RECONNECT_CAP_MS, PARTNER_REQUEST_TIMEOUT_MS } from '../shared/defaults.ts';
import { isPartnerId } from '../shared/ids.ts';
import { MAX_NAME_LENGTH } from '../shared/limits.ts';
import { DEFAULT_BROKER_URL, secretsFilePath } from '../shared/paths.ts';
import { ownerTokenPath } from '../shared/owner-token.ts';
import {
  booleanSettingOf,
  parseSettings,
  positiveIntSetting,
  textSetting,
  type Checked,
  type Field,
} from '../shared/settings.ts';
import { checkPlainHttp, splitBrokerUrls } from './endpoint.ts';

type Env = Record<string, string | undefined>;

/**
 * BROKER_URL: one broker URL, or several of one team separated by commas. Each entry must be an
 * http:// or https:// URL without a user name or password (secrets travel in headers, never in
 * URLs). Normalised to the entries without trailing slashes, joined by commas: a single URL keeps
 * the exact form it always had, which is also the key of its secrets.
 */
function brokerUrlSetting(value: unknown): Checked<string> {
  const urls = typeof value === 'string' ? splitBrokerUrls(value) : [];
  if (urls.length === 0)
    return { ok: false, problem: 'BROKER_URL must name at least one broker, such as http://localhost:3210' };
  for (const entry of urls) {
    const problem = brokerUrlProblem(entry);
    if (problem) return { ok: false, problem: `BROKER_URL entry ${JSON.stringify(entry)} ${problem}` };
  }
  return { ok: true, value: urls.join(',') };
}

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

const partnerIdSetting = (value: unknown): Checked<string> =>
  typeof value === 'string' && isPartnerId(value)
    ? { ok: true, value }
    : {
        ok: false,
        problem: 'a partner id is 1-64 characters of a-z, 0-9, "_" or "-", starting with a letter or digit',
      };

const displayNameSetting = (value: unknown): Checked<string> => {
  const name = typeof value === 'string' ? value.trim() : '';
  return name.length >= 1 && name.length <= MAX_NAME_LENGTH
    ? { ok: true, value: name }
    : { ok: false, problem: `must be 1-${MAX_NAME_LENGTH} characters` };
};

const absolutePathSetting = (value: unknown): Checked<string> =>
  typeof value === 'string' && isAbsolute(value)
    ? { ok: true, value }
    : { ok: false, problem: 'the project directory must be an absolute path' };

/** Every client's fields: how each is checked, and its default. */
export const CLIENT_FIELDS = {
  brokerUrl: { check: brokerUrlSetting, default: DEFAULT_BROKER_URL },
  /** PARTNER_ID when set; otherwise identity.ts derives one from the project folder. */
  partnerId: { check: partnerIdSetting },
  /** PARTNER_NAME when set; otherwise the broker shows the id (or a name chosen with register). */
  name: { check: displayNameSetting },
  token: { check: textSetting },
  /** DUO_ALLOW_PLAIN_HTTP=1: secrets may go over plain http to a broker on another machine. */
  allowPlainHttp: { check: booleanSettingOf, default: false },
  /** The broker's owner-token file; its token is sent when DUO_TOKEN is not set. */
  ownerTokenFile: { check: textSetting },
  projectDir: { check: absolutePathSetting },
  secretsFile: { check: textSetting },
  /** Every REST call and every WebSocket request gives up after this long: tools fail fast. */
  requestTimeoutMs: { check: positiveIntSetting, default: PARTNER_REQUEST_TIMEOUT_MS },
  reconnectBaseMs: { check: positiveIntSetting, default: RECONNECT_BASE_MS },
  reconnectCapMs: { check: positiveIntSetting, default: RECONNECT_CAP_MS },
} satisfies Record<string, Field<unknown>>;

export interface ClientConfig {
  brokerUrl: string;
  partnerId?: string | undefined;
  name?: string | undefined;
  token?: string | undefined;
  allowPlainHttp: boolean;
  ownerTokenFile?: string | undefined;
  projectDir: string;
  secretsFile: string;
  requestTimeoutMs: number;
  reconnectBaseMs: number;
  reconnectCapMs: number;
}

/** What flags and tests may set: the fields, as the environment or a caller gives them. */
export type ClientConfigInput = { [K in keyof ClientConfig]?: string | number | boolean | undefined };

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
export function clientConfigFromEnv(env: Env, cwd: string, overrides: ClientConfigInput = {}): ClientConfig {
  return checkedClientConfig(
    parseSettings(CLIENT_FIELDS, 'client', clientSettingsFromEnv(env, cwd), overrides) as ClientConfig,
  );
}

/** A parsed client config, after the checks that span fields: no secrets over plain http across a network. */
export function checkedClientConfig<C extends ClientConfig>(config: C): C {
  checkPlainHttp(splitBrokerUrls(config.brokerUrl), config.allowPlainHttp);
  return config;
}
