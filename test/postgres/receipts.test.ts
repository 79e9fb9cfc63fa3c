import { onPostgres } from '../helpers/postgres.ts';

await onPostgres('receipts', () => import('../broker/receipts.test.ts'));
