import { onPostgres } from '../helpers/postgres.ts';

await onPostgres('store', () => import('../broker/store.test.ts'));
