/**
 * The owner's credential on the broker side: the owner token (from its file, or a random one
 * kept in memory when no file is configured, as in-process test brokers do) and, when the
 * broker has one, its access token DUO_TOKEN, which also counts as the owner's. Any route can
 * ask whether a request carries one of them in the X-Duo-Token header.
 *
 * The token file is watched (its inode, size and mtime, looked at on each check): once
 * `duo token --rotate` replaced it, the new token is accepted and the old one no longer. A file
 * that is removed or becomes unacceptable (a link, another user's, readable by others) makes the
 * broker accept no owner token from the file until a good one is there again.
 */
import { timingSafeEqual } from 'node:crypto';
import { lstatSync } from 'node:fs';
import type { FastifyRequest } from 'fastify';
import type { BrokerConfig } from '../shared/config.ts';
import { DuoError } from '../shared/errors.ts';
import { ensureOwnerToken, newOwnerToken, OWNER_TOKEN_HEADER, readTokenFile } from '../shared/owner-token.ts';

export class OwnerAuth {
  private fileToken: string | undefined;
  /** Identity of the token file when it was last read (inode, size, mtime). */
  private seen = '';
  private readonly path: string | undefined;
  private readonly access: Buffer | undefined;

  constructor(config: Pick<BrokerConfig, 'ownerTokenPath' | 'token'>) {
    this.path = config.ownerTokenPath;
    this.fileToken = this.path === undefined ? newOwnerToken() : ensureOwnerToken(this.path);
    this.seen = this.fileIdentity();
    this.access = config.token === undefined ? undefined : Buffer.from(config.token);
  }

  /** The owner token this broker accepts now (also the one `duo token` prints from the file). */
  get token(): string {
    this.refresh();
    return this.fileToken ?? '';
  }

  isOwner(request: FastifyRequest): boolean {
    const given = request.headers[OWNER_TOKEN_HEADER];
    if (typeof given !== 'string' || given === '') return false;
    const buffer = Buffer.from(given);
    this.refresh();
    const accepted = [this.fileToken === undefined ? undefined : Buffer.from(this.fileToken), this.access];
    // Every candidate is compared, so the time taken does not say which one came close.
    let match = false;
    for (const token of accepted)
      if (token !== undefined && buffer.length === token.length && timingSafeEqual(buffer, token)) match = true;
    return match;
  }

  /** Reads the token file again when it was replaced, removed or changed since the last look. */
  private refresh(): void {
    if (this.path === undefined) return;
    const identity = this.fileIdentity();
    if (identity === this.seen) return;
    this.seen = identity;
    try {
      this.fileToken = readTokenFile(this.path);
    } catch {
      this.fileToken = undefined;
    }
  }

  private fileIdentity(): string {
    if (this.path === undefined) return '';
    const stat = lstatSync(this.path, { throwIfNoEntry: false });
    return stat ? `${stat.ino}:${stat.size}:${stat.mtimeMs}:${stat.mode}:${stat.uid}` : 'none';
  }

  /** Throws unless the request carries the owner token. */
  require(request: FastifyRequest): void {
    if (!this.isOwner(request)) throw ownerRequired();
  }
}

export function ownerRequired(): DuoError {
  return new DuoError(
    'unauthorized',
    'This needs the owner token in the "X-Duo-Token" header: the broker keeps it in ~/.config/claude-duo/owner-token ($XDG_CONFIG_HOME) and `duo token` prints it.',
  );
}
