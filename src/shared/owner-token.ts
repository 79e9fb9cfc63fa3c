/**
 * The owner token: a random secret that proves "I am the user who runs this broker". The broker
 * creates it on first start in `$XDG_CONFIG_HOME/claude-duo/owner-token` (mode 0600); the CLI of
 * the same user reads it from there. Whoever holds it may see every conversation, so the file is
 * created atomically (written to a private temporary file, then linked into place, which fails
 * if another start got there first) and refused when anyone but its owner can read it.
 */
import { randomBytes } from 'node:crypto';
import { chmodSync, linkSync, mkdirSync, readFileSync, renameSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { DuoError } from './errors.ts';
import { configDir } from './paths.ts';

type Env = Record<string, string | undefined>;

/** The HTTP header that carries the owner token, or DUO_TOKEN (the join token) on a team's broker. */
export const OWNER_TOKEN_HEADER = 'x-duo-token';

/** `DUO_OWNER_TOKEN_FILE`, else `$XDG_CONFIG_HOME/claude-duo/owner-token`. */
export function ownerTokenPath(env: Env): string {
  return env.DUO_OWNER_TOKEN_FILE || join(configDir(env), 'owner-token');
}

export function newOwnerToken(): string {
  return randomBytes(32).toString('base64url');
}

/**
 * The token in `path`, created first when there is none. Two brokers starting at once end up
 * with the same token: the loser of the race reads the winner's file.
 */
export function ensureOwnerToken(path: string): string {
  const existing = readTokenFile(path);
  if (existing !== undefined) return existing;
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  const staging = `${path}.${process.pid}.${randomBytes(4).toString('hex')}`;
  writeFileSync(staging, `${newOwnerToken()}\n`, { mode: 0o600, flag: 'wx' });
  try {
    linkSync(staging, path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
  } finally {
    unlinkSync(staging);
  }
  const token = readTokenFile(path);
  if (token === undefined) throw new DuoError('internal', `Could not create the owner token file ${path}.`);
  return token;
}

/**
 * Replaces the token in `path` with a new one and returns it (`duo token --rotate`): written to a
 * private staging file, then renamed over the old file in one step, so a reader sees the old
 * token or the new one, never part of a file. A running broker accepts only the new one from its
 * next check on.
 */
export function rotateOwnerToken(path: string): string {
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  const token = newOwnerToken();
  const staging = `${path}.${process.pid}.${randomBytes(4).toString('hex')}`;
  writeFileSync(staging, `${token}\n`, { mode: 0o600, flag: 'wx' });
  renameSync(staging, path);
  return token;
}

/**
 * The owner token a command line should present: DUO_OWNER_TOKEN when set, else the token file
 * the broker of this user created. Never DUO_TOKEN: that is the join token every agent carries.
 */
export function readOwnerToken(env: Env): string {
  return env.DUO_OWNER_TOKEN || readOwnerTokenFile(env);
}

/** The token in this user's owner-token file; a DuoError that says what to do when there is none. */
export function readOwnerTokenFile(env: Env): string {
  const path = ownerTokenPath(env);
  const token = readTokenFile(path);
  if (token === undefined) {
    throw new DuoError(
      'unauthorized',
      `There is no owner token in ${path}. The broker writes it on its first start: start it (\`duo broker\`) as this user, or, for a team's broker, set DUO_OWNER_TOKEN to the owner token (\`duo token\` prints it on a broker host; DUO_TOKEN, the join token, does not make you an owner).`,
    );
  }
  return token;
}

/**
 * The token in `path` when it can be read, else undefined: for clients that send the token
 * when they find it and never fail a request because it is missing or unreadable.
 */
export function tryReadOwnerToken(path: string): string | undefined {
  try {
    return readTokenFile(path);
  } catch {
    return undefined;
  }
}

/** The token in `path`, or undefined when the file does not exist (an empty file counts as none). */
function readTokenFile(path: string): string | undefined {
  let text: string;
  try {
    const stat = statSync(path);
    if ((stat.mode & 0o077) !== 0) {
      // Only the broker's user may hold the token; a copy others can read is repaired, not trusted.
      if (stat.uid !== process.getuid?.())
        throw new DuoError(
          'forbidden',
          `The owner token file ${path} can be read by other users and is not yours. Delete it; the broker makes a new one.`,
        );
      chmodSync(path, 0o600);
    }
    text = readFileSync(path, 'utf8').trim();
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
  return text === '' ? undefined : text;
}
