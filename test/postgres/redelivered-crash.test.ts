import { onPostgres } from '../helpers/postgres.ts';

await onPostgres('redelivered-crash', () => import('../faults/redelivered-crash.test.ts'));
