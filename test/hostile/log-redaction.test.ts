/**
 * A client that puts a credential in the query string by mistake must not find it in the
 * broker's log: request lines keep only the values of known, harmless parameters.
 */
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { startBrokerProcess, tempDir, type BrokerProcess } from '../helpers/broker.ts';
import { sleep } from '../helpers/scale.ts';

let broker: BrokerProcess | undefined;
afterEach(async () => broker?.kill('SIGKILL'));

describe('request logs', () => {
  it('never contain a secret sent in a query string, nor the Authorization header', async () => {
    broker = await startBrokerProcess({
      dbPath: join(tempDir(), 'duo.db'),
      env: { DUO_LOG_LEVEL: 'info' },
    });
    const secret = 'hunter2-hunter2-hunter2';
    await fetch(`${broker.url}/health?secret=${secret}&timeout=5`);
    await fetch(`${broker.url}/listen/alice?timeout=0&token=${secret}`, {
      headers: { authorization: `Bearer ${secret}` },
    });
    await sleep(200);
    const log = broker.output();
    expect(log).toContain('/health?secret=[redacted]&timeout=5');
    expect(log).toContain('/listen/alice?timeout=0&token=[redacted]');
    expect(log).not.toContain(secret);
  });
});
