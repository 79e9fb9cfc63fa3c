import { onPostgres } from '../helpers/postgres.ts';

await onPostgres('restart-traffic', () => import('../faults/restart-traffic.test.ts'));
