/**
 * The owner's credential on the broker side: the owner token (from its file, or a random one
 * kept in memory when no file is configured, as in-process test brokers do) and, when the
 * broker has one, its access token DUO_TOKEN, which also counts as the owner's. Any route can
 * ask whether a request carries one of them in the X-Duo-Token header.
 */
import { timingSafeEqual } from 'node:crypto';
import type { FastifyRequest } from 'fastify';
import type { BrokerConfig } from '../shared/config.ts';
import { DuoError } from '../shared/errors.ts';
import { ensureOwnerToken, newOwnerToken, OWNER_TOKEN_HEADER } from '../shared/owner-token.ts';

export class OwnerAuth {
  /** The owner token this broker accepts (also the one `duo token` prints from the file). */
  readonly token: string;
  private readonly accepted: Buffer[];

  constructor(config: Pick<BrokerConfig, 'ownerTokenPath' | 'token'>) {
    this.token = config.ownerTokenPath === undefined ? newOwnerToken() : ensureOwnerToken(config.ownerTokenPath);
    this.accepted = [this.token, config.token].filter((t): t is string => t !== undefined).map((t) => Buffer.from(t));
  }

  isOwner(request: FastifyRequest): boolean {
    const given = request.headers[OWNER_TOKEN_HEADER];
    if (typeof given !== 'string' || given === '') return false;
    const buffer = Buffer.from(given);
    // Every candidate is compared, so the time taken does not say which one came close.
    let match = false;
    for (const token of this.accepted)
      if (buffer.length === token.length && timingSafeEqual(buffer, token)) match = true;
    return match;
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
