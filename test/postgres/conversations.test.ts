import { onPostgres } from '../helpers/postgres.ts';

await onPostgres('conversations', () => import('../broker/conversations.test.ts'));
