/**
 * The owner's credential on the broker side, kept apart from the join credential. The owner
 * token (DUO_OWNER_TOKEN, else its file, else a random one kept in memory when no file is
 * configured, as in-process test brokers do) may read every conversation, mint console logins
 * and resume holds. DUO_TOKEN, which every agent of a team carries, is only the join token: it
 * lets a request in and creates partner ids, nothing more. Any route can ask which of the two a
 * request carries in the X-Duo-Token header.
 */
import { timingSafeEqual } from 'node:crypto';
import type { FastifyRequest } from 'fastify';
import type { BrokerConfig } from '../shared/config.ts';
import { DuoError } from '../shared/errors.ts';
import { newOwnerToken, OWNER_TOKEN_HEADER } from '../shared/owner-token.ts';
import { OwnerTokenFile } from './owner-file.ts';

/** What a request's X-Duo-Token proves: the owner, or only the right to join (DUO_TOKEN). */
export type Credential = 'owner' | 'join';

export class OwnerAuth {
  private readonly ownerToken: () => string | undefined;
  private readonly joinToken: Buffer | undefined;

  constructor(
    config: Pick<BrokerConfig, 'ownerTokenPath' | 'token' | 'ownerToken'>,
    /** Called for each request `require` refuses. */
    private readonly onRefused: () => void = () => {},
  ) {
    this.ownerToken = ownerTokenSource(config);
    this.joinToken = config.token === undefined ? undefined : Buffer.from(config.token);
  }

  /** The owner token this broker accepts now (also the one `duo token` prints from the file); '' for none. */
  get token(): string {
    return this.ownerToken() ?? '';
  }

  /** The credential the request carries; the owner token also grants what the join token does. */
  credential(request: FastifyRequest): Credential | undefined {
    const given = request.headers[OWNER_TOKEN_HEADER];
    if (typeof given !== 'string' || given === '') return undefined;
    const buffer = Buffer.from(given);
    // Both are compared, so the time taken does not say which one came close.
    const ownerToken = this.ownerToken();
    const owner = ownerToken !== undefined && sameBytes(buffer, Buffer.from(ownerToken));
    const join = this.joinToken !== undefined && sameBytes(buffer, this.joinToken);
    return owner ? 'owner' : join ? 'join' : undefined;
  }

  /** Throws unless the request carries the owner token; the join token is told it is not enough. */
  require(request: FastifyRequest): void {
    const credential = this.credential(request);
    if (credential === 'owner') return;
    this.onRefused();
    throw credential === 'join' ? joinIsNotOwner() : ownerRequired();
  }
}

/**
 * Where the owner token comes from: DUO_OWNER_TOKEN as given, else its file (read again when
 * `duo token --rotate` replaced it; none while the file is gone or unacceptable), else a random
 * one when the broker has no file.
 */
function ownerTokenSource(config: Pick<BrokerConfig, 'ownerTokenPath' | 'ownerToken'>): () => string | undefined {
  const fixed = config.ownerToken ?? (config.ownerTokenPath === undefined ? newOwnerToken() : undefined);
  if (fixed !== undefined) return () => fixed;
  const file = new OwnerTokenFile(config.ownerTokenPath!);
  return () => file.current();
}

/** The join token was shown where the owner's is needed. */
export function joinIsNotOwner(): DuoError {
  return new DuoError(
    'owner_required',
    'DUO_TOKEN is this team\'s join token: it lets an agent take part, not read every conversation, mint console logins or resume holds. Send the owner token in "X-Duo-Token" instead: run this on a broker host (the owner-token file is there), or set DUO_OWNER_TOKEN to the value `duo token` prints on one.',
  );
}

function sameBytes(given: Buffer, expected: Buffer): boolean {
  return given.length === expected.length && timingSafeEqual(given, expected);
}

export function ownerRequired(): DuoError {
  return new DuoError(
    'unauthorized',
    'This needs the owner token in the "X-Duo-Token" header: the broker keeps it in ~/.config/claude-duo/owner-token ($XDG_CONFIG_HOME) and `duo token` prints it (a team may give it to its brokers and owners as DUO_OWNER_TOKEN).',
  );
}
