import { onPostgres } from '../helpers/postgres.ts';

await onPostgres('ws', () => import('../broker/ws.test.ts'));
