import { onPostgres } from '../helpers/postgres.ts';

await onPostgres('fanout', () => import('../broker/fanout.test.ts'));
