import { onPostgres } from '../helpers/postgres.ts';

await onPostgres('direct-ids', () => import('../broker/direct-ids.test.ts'));
