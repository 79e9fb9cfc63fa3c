import { onPostgres } from '../helpers/postgres.ts';

await onPostgres('roles', () => import('../hostile/roles.test.ts'));
