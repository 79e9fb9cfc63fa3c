import type { Migration } from 'kysely';
import * as initial from './001_initial.ts';
import * as humanSeat from './002_console.ts';
import * as clusterKey from './003_cluster_key.ts';
import * as receipts from './004_receipts.ts';

/** Every migration, in order. Schema changes only ever go through a new entry here. */
export const migrations: Record<string, Migration> = {
  '001_initial': initial,
  '002_console': humanSeat,
  '003_cluster_key': clusterKey,
  '004_receipts': receipts,
};
