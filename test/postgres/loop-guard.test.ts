import { onPostgres } from '../helpers/postgres.ts';

await onPostgres('loop-guard', () => import('../broker/loop-guard.test.ts'));
