import { onPostgres } from '../helpers/postgres.ts';

await onPostgres('long-poll', () => import('../broker/long-poll.test.ts'));
