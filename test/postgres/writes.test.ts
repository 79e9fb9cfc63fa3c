import { onPostgres } from '../helpers/postgres.ts';

await onPostgres('writes', () => import('../broker/writes.test.ts'));
