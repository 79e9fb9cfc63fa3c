/**
 * The console's identities: partner rows marked as humans. A human is a member like any other
 * (agents can message it, it can join groups), but it has no secret anyone knows (it acts only
 * through a console session) and its messages reset the loop guard. The set of human ids is
 * kept in memory because every send asks whether its sender is one.
 */
import { randomBytes } from 'node:crypto';
import { DuoError } from '../../shared/errors.ts';
import { storageError } from '../db.ts';
import { hashSecret } from '../auth.ts';
import type { ConsoleStore } from './store.ts';

export class Humans {
  private readonly ids = new Set<string>();
  /** Ids looked up and found to be agents (an id never changes kind). */
  private readonly agents = new Set<string>();

  constructor(
    private readonly store: ConsoleStore,
    private readonly now: () => Date,
  ) {}

  async load(): Promise<void> {
    for (const id of await this.store.humanIds()) this.ids.add(id);
  }

  has(partnerId: string): boolean {
    return this.ids.has(partnerId);
  }

  /**
   * Whether `partnerId` is a human, asking the store about ids not seen before: another broker
   * of the database may have created a human since this one loaded the set.
   */
  async isHuman(partnerId: string): Promise<boolean> {
    if (this.ids.has(partnerId)) return true;
    if (this.agents.has(partnerId)) return false;
    const row = await this.store.partner(partnerId);
    if (row?.kind === 'human') this.ids.add(partnerId);
    else if (row) this.agents.add(partnerId);
    return row?.kind === 'human';
  }

  /** The human `partnerId`, created on first use; an agent's id is refused. */
  async ensure(partnerId: string, name: string | undefined): Promise<{ partnerId: string; name: string }> {
    try {
      const existing = await this.store.partner(partnerId);
      if (existing && existing.kind !== 'human') {
        throw new DuoError(
          'id_taken',
          `"${partnerId}" is the id of an agent (a Claude Code partner); the console needs an id of its own. Choose one with \`duo web --as <id>\`.`,
        );
      }
      if (existing) {
        if (name !== undefined && name !== existing.name) await this.store.renamePartner(partnerId, name);
        this.ids.add(partnerId);
        return { partnerId, name: name ?? existing.name };
      }
      const at = this.now().toISOString();
      await this.store.insertHuman({
        id: partnerId,
        name: name ?? partnerId,
        // A secret nobody is told: a human acts only through a console session.
        secret_hash: hashSecret(randomBytes(32).toString('base64url')),
        project_path: null,
        status: null,
        notifications: 0,
        pushed_up_to: 0,
        created_at: at,
        last_seen: at,
      });
      this.ids.add(partnerId);
      return { partnerId, name: name ?? partnerId };
    } catch (error) {
      throw storageError(error);
    }
  }
}
