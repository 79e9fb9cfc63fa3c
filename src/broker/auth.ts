/**
 * Identity: registering a partner id and proving it. The first registration of an id hands out a
 * random secret once; the broker keeps only its SHA-256 and compares in constant time, so the
 * database alone never lets anyone act as a partner.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { DuoError } from '../shared/errors.ts';
import type { RegisterReply } from '../shared/protocol.ts';
import { isoNow, type Clock } from './clock.ts';
import type { PartnerRow } from './schema.ts';
import type { Store } from './store.ts';

/** 256 bits: far beyond guessing, and short enough to paste. */
const SECRET_BYTES = 32;

export interface RegisterInput {
  partnerId: string;
  name?: string | undefined;
  projectPath?: string | undefined;
}

export function hashSecret(secret: string): string {
  return createHash('sha256').update(secret).digest('hex');
}

export class Auth {
  constructor(
    private readonly store: Store,
    private readonly clock: Clock,
  ) {}

  /**
   * Registers a new id (returning its secret), or re-registers a known one that shows its secret.
   * Only a request with the owner or the join token (`mayCreate`) may create ids; anyone else
   * is told the token is needed, whether or not the id exists, so a stranger learns nothing.
   */
  async register(input: RegisterInput, secret: string | undefined, mayCreate: boolean): Promise<RegisterReply> {
    const existing = await this.store.getPartner(input.partnerId);
    const proven = existing !== undefined && secret !== undefined && secretMatches(secret, existing.secret_hash);
    if (!proven && !mayCreate) throw ownerTokenRequired(input.partnerId);
    if (!existing) return this.registerNew(input);
    if (!proven) throw idTaken(input.partnerId);
    const changes: Parameters<Store['updatePartner']>[1] = { last_seen: isoNow(this.clock) };
    if (input.name !== undefined) changes.name = input.name;
    if (input.projectPath !== undefined) changes.project_path = input.projectPath;
    await this.store.updatePartner(existing.id, changes);
    return { partnerId: existing.id, name: input.name ?? existing.name, created: false };
  }

  private async registerNew(input: RegisterInput): Promise<RegisterReply> {
    const secret = randomBytes(SECRET_BYTES).toString('base64url');
    const now = isoNow(this.clock);
    const row: PartnerRow = {
      id: input.partnerId,
      name: input.name ?? input.partnerId,
      secret_hash: hashSecret(secret),
      project_path: input.projectPath ?? null,
      status: null,
      notifications: 1,
      pushed_up_to: 0,
      created_at: now,
      last_seen: now,
    };
    try {
      await this.store.insertPartner(row);
    } catch (error) {
      // Two first registrations raced; the loser is told the id is taken.
      if ((error as { code?: string }).code?.startsWith('SQLITE_CONSTRAINT')) throw idTaken(input.partnerId);
      throw error;
    }
    return { partnerId: row.id, name: row.name, created: true, secret };
  }

  /** The partner a bearer secret belongs to. */
  async authenticate(secret: string | undefined): Promise<PartnerRow> {
    if (!secret)
      throw new DuoError(
        'unauthorized',
        'This request needs your partner secret: send "Authorization: Bearer <secret>" (the secret /register returned the first time).',
      );
    const partner = await this.store.getPartnerBySecretHash(hashSecret(secret));
    if (!partner)
      throw new DuoError(
        'unauthorized',
        'That secret belongs to no partner. Use the secret /register returned the first time (the partner keeps it in its per-user secrets file).',
      );
    return partner;
  }

  /** The partner `partnerId`, if `secret` is its secret. */
  async authenticateAs(partnerId: string, secret: string): Promise<PartnerRow> {
    const partner = await this.store.getPartner(partnerId);
    if (!partner || !secretMatches(secret, partner.secret_hash)) {
      throw new DuoError(
        'unauthorized',
        `Wrong or unknown secret for partner "${partnerId}". Register first, or use the secret the first registration returned.`,
      );
    }
    return partner;
  }
}

function secretMatches(secret: string, storedHash: string): boolean {
  const given = Buffer.from(hashSecret(secret), 'hex');
  const stored = Buffer.from(storedHash, 'hex');
  return given.length === stored.length && timingSafeEqual(given, stored);
}

function ownerTokenRequired(partnerId: string): DuoError {
  return new DuoError(
    'token_required',
    `Creating the partner id "${partnerId}" needs the owner token in the "X-Duo-Token" header. Partners and \`duo\` commands of the user who runs the broker send it by themselves (from ~/.config/claude-duo/owner-token, under $XDG_CONFIG_HOME); for curl, \`duo token\` prints it. An id that already exists re-registers with its secret alone.`,
  );
}

function idTaken(partnerId: string): DuoError {
  return new DuoError(
    'id_taken',
    `The partner id "${partnerId}" is already registered by another project (or you lost its secret). Present its secret as "Authorization: Bearer <secret>", or register under another id (set PARTNER_ID).`,
  );
}
