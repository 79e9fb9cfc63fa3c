/**
 * The owner token: a random secret that proves "I am the user who runs this broker". The broker
 * creates it on first start in `$XDG_CONFIG_HOME/claude-duo/owner-token` (mode 0600); the CLI of
 * the same user reads it from there. Whoever holds it may see every conversation, so the file is
 * created atomically (written to a private temporary file, then linked into place, which fails
 * if another start got there first). It is read without following links and refused when it is a
 * link, belongs to another user or can be read by others: such a token may have leaked, so it is
 * never taken back into use; `duo token --rotate` replaces it.
 */
import { closeSync, linkSync, readFileSync, renameSync, rmSync, unlinkSync } from 'node:fs';
import { join } from 'node:path';
import { crypto } from './lazy-builtins.ts';
import { DuoError } from './errors.ts';
import { configDir } from './paths.ts';
import { createPrivate, folderFor, openPrivate, type Warn } from './private-files.ts';

type Env = Record<string, string | undefined>;

/** The HTTP header that carries the owner token, or DUO_TOKEN (the join token) on a team's broker. */
export const OWNER_TOKEN_HEADER = 'x-duo-token';

/** `DUO_OWNER_TOKEN_FILE`, else `$XDG_CONFIG_HOME/claude-duo/owner-token`. */
export function ownerTokenPath(env: Env): string {
  return env.DUO_OWNER_TOKEN_FILE || join(configDir(env), 'owner-token');
}

export function newOwnerToken(): string {
  return crypto().randomBytes(32).toString('base64url');
}

/**
 * The token in `path`, created first when there is none. Two brokers starting at once end up
 * with the same token: the loser of the race reads the winner's file.
 */
export function ensureOwnerToken(path: string, warn?: Warn): string {
  folderFor(path, warn);
  const existing = readTokenFile(path);
  if (existing !== undefined) return existing;
  const staging = stagingPath(path);
  createPrivate(staging, `${newOwnerToken()}\n`);
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
 * Replaces the token in `path` with a new one and returns it. Whatever was at the path (a token
 * that may have leaked, a planted link) is replaced by the rename, never read or followed; a
 * running broker notices the new file and stops accepting the old token.
 */
export function rotateOwnerToken(path: string, warn?: Warn): string {
  folderFor(path, warn);
  const token = newOwnerToken();
  const staging = stagingPath(path);
  try {
    createPrivate(staging, `${token}\n`);
    renameSync(staging, path);
  } finally {
    rmSync(staging, { force: true });
  }
  return token;
}

function stagingPath(path: string): string {
  return `${path}.${process.pid}.${crypto().randomBytes(4).toString('hex')}`;
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

/**
 * The token in `path`, or undefined when the file does not exist (an empty file counts as none).
 * Throws a DuoError saying what to do when the file is a link, another user's, or readable by others.
 */
export function readTokenFile(path: string): string | undefined {
  const fd = openPrivate(
    path,
    'read',
    `The owner token in it may have leaked: run \`duo token --rotate\` as the broker's user to replace it with a new one (the old one stops working).`,
  );
  if (fd === undefined) return undefined;
  let text: string;
  try {
    text = readFileSync(fd, 'utf8').trim();
  } finally {
    closeSync(fd);
  }
  return text === '' ? undefined : text;
}
