import { onPostgres } from '../helpers/postgres.ts';

await onPostgres('presence', () => import('../broker/presence.test.ts'));
