import type { Migration } from 'kysely';
import * as initial from './001_initial.ts';

/** Every migration, in order. Schema changes only ever go through a new entry here. */
export const migrations: Record<string, Migration> = {
  '001_initial': initial,
};
