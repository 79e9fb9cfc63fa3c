/**
 * Logging in to the web console. The owner asks for a one-time code (`duo web`); the login page
 * trades it, once and within a short time, for a session cookie: random, HttpOnly,
 * SameSite=Strict, stored only as its SHA-256, expiring. Codes live in memory (a restart simply
 * voids them); sessions live in the database.
 */
import { createHash, randomBytes } from 'node:crypto';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { BoundedMap } from '../../shared/bounded-map.ts';
import { DuoError } from '../../shared/errors.ts';
import type { ConsoleStore } from './store.ts';

/** How long a login URL works. */
export const LOGIN_CODE_TTL_MS = 2 * 60_000;
/** How long a console session lasts before `duo web` has to be run again. */
export const SESSION_TTL_MS = 12 * 3_600_000;
/** Codes minted and not yet used; older ones are forgotten first. */
const MAX_PENDING_CODES = 64;

export interface ConsoleSession {
  partnerId: string;
  tokenHash: string;
  expiresAt: string;
}

const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');

export class Logins {
  private readonly codes = new BoundedMap<string, { partnerId: string; expiresAt: number }>(MAX_PENDING_CODES);

  constructor(
    private readonly store: ConsoleStore,
    private readonly now: () => Date,
  ) {}

  /** A new one-time code for `partnerId` (a human). */
  mint(partnerId: string): { code: string; expiresAt: string } {
    const code = randomBytes(32).toString('base64url');
    const expiresAt = this.now().getTime() + LOGIN_CODE_TTL_MS;
    this.codes.set(sha256(code), { partnerId, expiresAt });
    return { code, expiresAt: new Date(expiresAt).toISOString() };
  }

  /** Trades a code for a new session; the code is spent whether or not it was still valid. */
  async redeem(code: string): Promise<{ token: string; session: ConsoleSession }> {
    const key = sha256(code);
    const entry = this.codes.get(key);
    this.codes.delete(key);
    const now = this.now();
    if (!entry || entry.expiresAt <= now.getTime()) {
      throw new DuoError(
        'unauthorized',
        'This login link was already used or has expired (links work once, for two minutes). Run `duo web` again for a new one.',
      );
    }
    const token = randomBytes(32).toString('base64url');
    const session: ConsoleSession = {
      partnerId: entry.partnerId,
      tokenHash: sha256(token),
      expiresAt: new Date(now.getTime() + SESSION_TTL_MS).toISOString(),
    };
    await this.store.insertSession({
      token_hash: session.tokenHash,
      partner_id: session.partnerId,
      created_at: now.toISOString(),
      expires_at: session.expiresAt,
    });
    return { token, session };
  }

  /** The session of the request's cookie, if it has a valid one. */
  async session(request: FastifyRequest): Promise<ConsoleSession | undefined> {
    const token = readCookie(request.headers.cookie, cookieName(request));
    if (token === undefined || token.length > 200) return undefined;
    const row = await this.store.findSession(sha256(token));
    if (!row || row.expires_at <= this.now().toISOString()) return undefined;
    return { partnerId: row.partner_id, tokenHash: row.token_hash, expiresAt: row.expires_at };
  }

  /** The request's session, or a 401 that says how to get one. */
  async require(request: FastifyRequest): Promise<ConsoleSession> {
    const session = await this.session(request);
    if (!session) {
      throw new DuoError(
        'unauthorized',
        'You are not logged in to the console (or the session expired). Run `duo web` and open the URL it prints.',
      );
    }
    return session;
  }

  async end(session: ConsoleSession): Promise<void> {
    await this.store.deleteSession(session.tokenHash);
  }

  sweep(): Promise<void> {
    const now = this.now();
    for (const [key, entry] of this.codes) if (entry.expiresAt <= now.getTime()) this.codes.delete(key);
    return this.store.deleteExpiredSessions(now.toISOString());
  }
}

/**
 * One cookie per broker port: cookies ignore ports, so two brokers on one machine would
 * otherwise overwrite each other's session.
 */
export function cookieName(request: FastifyRequest): string {
  const port = /:(\d{1,5})$/.exec(request.headers.host ?? '')?.[1] ?? '80';
  return `duo_console_${port}`;
}

export function setSessionCookie(request: FastifyRequest, reply: FastifyReply, token: string, maxAgeMs: number): void {
  void reply.header(
    'set-cookie',
    `${cookieName(request)}=${token}; HttpOnly; SameSite=Strict; Path=/; Max-Age=${Math.max(0, Math.floor(maxAgeMs / 1000))}`,
  );
}

export function readCookie(header: string | undefined, name: string): string | undefined {
  if (!header) return undefined;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq !== -1 && part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return undefined;
}
