/** Stand-alone entry for the partner (tests spawn it; `duo partner` calls runPartner itself). */
import { runPartner } from './main.ts';

runPartner().catch((error: unknown) => {
  process.stderr.write(`duo partner: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
