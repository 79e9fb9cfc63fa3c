import { onPostgres } from '../helpers/postgres.ts';

await onPostgres('membership', () => import('../broker/membership.test.ts'));
