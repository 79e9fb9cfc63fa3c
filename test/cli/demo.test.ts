import { expect, it } from 'vitest';
import { cliHome, runDuo } from '../helpers/cli.ts';

it('the demo runs a broker and two real partners that talk, then exits by itself', async () => {
  const h = cliHome();
  const run = await runDuo(['demo'], { env: h.env, cwd: h.home, timeoutMs: 30_000 });
  expect(run.code, run.stdout + run.stderr).toBe(0);
  expect(run.stdout).toMatch(/alice ▸ talk\(to: "bob"/);
  expect(run.stdout).toMatch(
    /bob {3}◂ channel event[\s\S]*<peer_message from="alice" conversation="direct:alice:bob" id="1"/,
  );
  expect(run.stdout).toMatch(/alice ▸ listen[\s\S]*<peer_message from="bob"/);
  expect(run.stdout).toMatch(/Done in [\d.]+ s\./);
});
