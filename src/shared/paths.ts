import { homedir } from 'node:os';
import { join } from 'node:path';

type Env = Record<string, string | undefined>;

/** `$XDG_DATA_HOME/claude-duo`, else `~/.local/share/claude-duo`. */
export function dataDir(env: Env): string {
  return join(env.XDG_DATA_HOME || join(env.HOME || homedir(), '.local', 'share'), 'claude-duo');
}

/** `$XDG_CONFIG_HOME/claude-duo`, else `~/.config/claude-duo`. */
export function configDir(env: Env): string {
  return join(env.XDG_CONFIG_HOME || join(env.HOME || homedir(), '.config'), 'claude-duo');
}

/** `$XDG_STATE_HOME/claude-duo`, else `~/.local/state/claude-duo`: logs and run-time files. */
export function stateDir(env: Env): string {
  return join(env.XDG_STATE_HOME || join(env.HOME || homedir(), '.local', 'state'), 'claude-duo');
}

/** Where a broker started on demand (by a partner or a command) writes its log. */
export function brokerLogPath(env: Env): string {
  return join(stateDir(env), 'broker.log');
}

export function defaultDbPath(env: Env): string {
  return join(dataDir(env), 'duo.db');
}

/** Per-user file of partner secrets, keyed by broker URL and partner id (mode 0600). */
export function secretsFilePath(env: Env): string {
  return join(configDir(env), 'secrets.json');
}

export const DEFAULT_PORT = 3210;
export const DEFAULT_BROKER_URL = `http://localhost:${DEFAULT_PORT}`;
