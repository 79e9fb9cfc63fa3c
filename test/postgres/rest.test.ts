import { onPostgres } from '../helpers/postgres.ts';

await onPostgres('rest', () => import('../broker/rest.test.ts'));
