import { onPostgres } from '../helpers/postgres.ts';

await onPostgres('listen-crash', () => import('../faults/listen-crash.test.ts'));
