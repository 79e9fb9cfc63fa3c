import { join } from 'node:path';
import { expect, it } from 'vitest';
import { ownerTokenPath } from '../../src/shared/owner-token.ts';
import { startBrokerProcess, tempDir } from '../helpers/broker.ts';
import { cliHome, LiveDuo, runDuo } from '../helpers/cli.ts';
import { register, talk } from '../helpers/clients.ts';

it('tail survives a broker restart and shows what was sent before it reconnected', async () => {
  const h = cliHome();
  const env = { DUO_OWNER_TOKEN_FILE: ownerTokenPath(h.env), DUO_LOOP_GUARD: 'off' };
  let broker = await startBrokerProcess({ dbPath: join(tempDir(), 'duo.db'), env });
  h.env.BROKER_URL = broker.url;
  const aliceDir = h.project('alice');
  expect((await runDuo(['register'], { env: h.env, cwd: aliceDir })).code).toBe(0);
  const bob = await register(broker.url, 'bob');
  const tail = new LiveDuo(['tail', '-n', '0', '--interval', '300'], { env: h.env, cwd: aliceDir });
  try {
    await tail.waitFor('stderr', /Watching all your conversations as alice/);
    await talk(broker.url, bob, { to: 'alice', content: 'before the restart' });
    await tail.waitFor('stdout', /before the restart/);
    await broker.kill('SIGKILL');
    await tail.waitFor('stderr', /not reachable\. Start it .* Still watching; retrying\./);
    broker = await broker.restart();
    // Sent the moment the broker is back, likely before tail reconnects: the replay brings it.
    await talk(broker.url, bob, { to: 'alice', content: 'right after the restart' });
    await tail.waitFor('stderr', /The broker answers again/);
    await tail.waitFor('stdout', /right after the restart/);
    await talk(broker.url, bob, { to: 'alice', content: 'live again' });
    await tail.waitFor('stdout', /live again/);
    expect(tail.stdout.match(/before the restart/g)).toHaveLength(1);
  } finally {
    await tail.stop();
    await broker.kill();
  }
});
