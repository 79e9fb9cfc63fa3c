import type { Generated, Selectable } from 'kysely';

/** The database as Kysely sees it; mirrors migrations/. */
export interface Database {
  partners: PartnersTable;
  conversations: ConversationsTable;
  members: MembersTable;
  messages: MessagesTable;
  /** PostgreSQL only (team mode): the key brokers sign their notifications with. */
  cluster_key: { id: number; secret: string };
}

export interface PartnersTable {
  id: string;
  name: string;
  secret_hash: string;
  project_path: string | null;
  status: string | null;
  notifications: number;
  pushed_up_to: Generated<number>;
  created_at: string;
  last_seen: string | null;
}

export interface ConversationsTable {
  id: string;
  kind: 'direct' | 'group';
  name: string;
  created_by: string;
  created_at: string;
}

export interface MembersTable {
  conversation_id: string;
  partner_id: string;
  cursor: number;
  joined_at: string;
  /** The newest message id when this member joined: it received only the messages above. */
  joined_after: Generated<number>;
}

export interface MessagesTable {
  id: Generated<number>;
  conversation_id: string;
  sender: string;
  content: string;
  client_msg_id: string | null;
  created_at: string;
}

export type PartnerRow = Selectable<PartnersTable>;
export type ConversationRow = Selectable<ConversationsTable>;
export type MessageRow = Selectable<MessagesTable>;
