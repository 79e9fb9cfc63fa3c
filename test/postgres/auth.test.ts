import { onPostgres } from '../helpers/postgres.ts';

await onPostgres('auth', () => import('../broker/auth.test.ts'));
