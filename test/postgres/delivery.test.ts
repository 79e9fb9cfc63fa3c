import { onPostgres } from '../helpers/postgres.ts';

await onPostgres('delivery', () => import('../broker/delivery.test.ts'));
