import { onPostgres } from '../helpers/postgres.ts';

await onPostgres('listen-cursor', () => import('../broker/listen-cursor.test.ts'));
