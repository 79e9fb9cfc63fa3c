/**
 * Logging in to the web console. The owner asks for a one-time code (`duo web`); the login page
 * trades it, once and within a short time, for a session made of two random halves: a cookie
 * (HttpOnly, SameSite=Strict; `Secure` with a `__Host-` name under TLS) and a page key the page
 * keeps in sessionStorage and sends as the X-Duo-Session header (on /watch, where a browser
 * cannot set headers, as the WebSocket subprotocol `duo-session.<key>`). Cookies ignore ports,
 * so another server on localhost that the browser visits receives the cookie; sessionStorage is
 * per origin, port included, so it never gets the key, and the cookie alone is no session. The
 * database keeps only the SHA-256 of both halves together. Codes live in memory (a restart
 * simply voids them); sessions live in the database.
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
/** The header that carries the page's half of the session on console API calls. */
export const PAGE_KEY_HEADER = 'x-duo-session';
/** The WebSocket subprotocol prefix that carries it on /watch. */
export const PAGE_KEY_PROTOCOL = 'duo-session.';
/** The subprotocol the broker answers with: never the one carrying the key. */
export const WATCH_PROTOCOL = 'duo-watch';
/** Both halves are 32 random bytes in base64url; anything longer is not ours. */
const MAX_HALF_LENGTH = 200;

export interface ConsoleSession {
  partnerId: string;
  tokenHash: string;
  expiresAt: string;
}

const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');
/** What the database keeps of a session: the hash of both halves, so neither alone finds it. */
const sessionHash = (cookie: string, pageKey: string) => sha256(`${cookie}.${pageKey}`);

export class Logins {
  private readonly codes = new BoundedMap<string, { partnerId: string; expiresAt: number }>(MAX_PENDING_CODES);

  constructor(
    private readonly store: ConsoleStore,
    private readonly now: () => Date,
    /** The broker serves TLS: the cookie is `Secure` and named `__Host-…`. */
    private readonly secure = false,
  ) {}

  /** A new one-time code for `partnerId` (a human). */
  mint(partnerId: string): { code: string; expiresAt: string } {
    const code = randomBytes(32).toString('base64url');
    const expiresAt = this.now().getTime() + LOGIN_CODE_TTL_MS;
    this.codes.set(sha256(code), { partnerId, expiresAt });
    return { code, expiresAt: new Date(expiresAt).toISOString() };
  }

  /**
   * Trades a code for a new session; the code is spent whether or not it was still valid.
   * `token` goes into the cookie, `pageKey` to the page.
   */
  async redeem(code: string): Promise<{ token: string; pageKey: string; session: ConsoleSession }> {
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
    const pageKey = randomBytes(32).toString('base64url');
    const session: ConsoleSession = {
      partnerId: entry.partnerId,
      tokenHash: sessionHash(token, pageKey),
      expiresAt: new Date(now.getTime() + SESSION_TTL_MS).toISOString(),
    };
    await this.store.insertSession({
      token_hash: session.tokenHash,
      partner_id: session.partnerId,
      created_at: now.toISOString(),
      expires_at: session.expiresAt,
    });
    return { token, pageKey, session };
  }

  /** The session of the request's cookie and page key, if together they make a valid one. */
  async session(request: FastifyRequest): Promise<ConsoleSession | undefined> {
    const token = readCookie(request.headers.cookie, this.cookieName(request));
    const pageKey = readPageKey(request);
    if (token === undefined || pageKey === undefined || token.length > MAX_HALF_LENGTH) return undefined;
    const row = await this.store.findSession(sessionHash(token, pageKey));
    if (!row || row.expires_at <= this.now().toISOString()) return undefined;
    return { partnerId: row.partner_id, tokenHash: row.token_hash, expiresAt: row.expires_at };
  }

  async end(session: ConsoleSession): Promise<void> {
    await this.store.deleteSession(session.tokenHash);
  }

  sweep(): Promise<void> {
    const now = this.now();
    for (const [key, entry] of this.codes) if (entry.expiresAt <= now.getTime()) this.codes.delete(key);
    return this.store.deleteExpiredSessions(now.toISOString());
  }

  /**
   * One cookie per broker port: cookies ignore ports, so two brokers on one machine would
   * otherwise overwrite each other's session. Under TLS the `__Host-` prefix makes the browser
   * refuse it unless it is Secure, host-only and for the whole site.
   */
  cookieName(request: FastifyRequest): string {
    const port = /:(\d{1,5})$/.exec(request.headers.host ?? '')?.[1] ?? (this.secure ? '443' : '80');
    return `${this.secure ? '__Host-' : ''}duo_console_${port}`;
  }

  setCookie(request: FastifyRequest, reply: FastifyReply, token: string, maxAgeMs: number): void {
    const maxAge = Math.max(0, Math.floor(maxAgeMs / 1000));
    void reply.header(
      'set-cookie',
      `${this.cookieName(request)}=${token}; HttpOnly; SameSite=Strict; Path=/; Max-Age=${maxAge}${this.secure ? '; Secure' : ''}`,
    );
  }
}

/** The refusal of a request without a valid session: says how to get one. */
export function notLoggedIn(): DuoError {
  return new DuoError(
    'unauthorized',
    'You are not logged in to the console in this tab (or the session expired). Run `duo web` and open the URL it prints.',
  );
}

/** The page's half of the session: the X-Duo-Session header, or on /watch a `duo-session.<key>` subprotocol. */
export function readPageKey(request: FastifyRequest): string | undefined {
  const header = request.headers[PAGE_KEY_HEADER];
  if (typeof header === 'string' && header !== '') return header.length > MAX_HALF_LENGTH ? undefined : header;
  const protocols = request.headers['sec-websocket-protocol'];
  if (typeof protocols !== 'string') return undefined;
  for (const protocol of protocols.split(',')) {
    const trimmed = protocol.trim();
    if (trimmed.startsWith(PAGE_KEY_PROTOCOL)) {
      const key = trimmed.slice(PAGE_KEY_PROTOCOL.length);
      return key === '' || key.length > MAX_HALF_LENGTH ? undefined : key;
    }
  }
  return undefined;
}

export function readCookie(header: string | undefined, name: string): string | undefined {
  if (!header) return undefined;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq !== -1 && part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return undefined;
}
