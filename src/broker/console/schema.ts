import type { Generated, Selectable } from 'kysely';
import type { Database } from '../schema.ts';

/** What the human's seat added to the database (migrations/002_console.ts). */
export type ConsoleTables = {
  partners: { kind: Generated<PartnerKind> };
  console_sessions: ConsoleSessionsTable;
  holds: HoldsTable;
};

export type ConsoleDatabase = Database & ConsoleTables;

/** Agents are the Claude Code partners; a human is someone at the web console. */
export type PartnerKind = 'agent' | 'human';

export interface ConsoleSessionsTable {
  token_hash: string;
  partner_id: string;
  created_at: string;
  expires_at: string;
}

export interface HoldsTable {
  conversation_id: string;
  held_at: string;
  messages: number;
  window_ms: number;
}

export type ConsoleSessionRow = Selectable<ConsoleSessionsTable>;
export type HoldRow = Selectable<HoldsTable>;
