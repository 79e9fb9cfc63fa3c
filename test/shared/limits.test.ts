import { describe, expect, it } from 'vitest';
import { BrokerConfig } from '../../src/shared/config.ts';
import * as limits from '../../src/shared/limits.ts';
import { docTable, unquote } from '../helpers/doc-table.ts';

const named = Object.entries(limits).filter((entry): entry is [string, number] => typeof entry[1] === 'number');

/** A value the way the documentation writes it, by the unit in the constant's name. */
function spelled(name: string, value: number): string {
  if (name.endsWith('_BYTES')) return limits.formatBytes(value);
  if (name.endsWith('_MS')) return value % 1000 === 0 ? `${value / 1000} s` : `${value} ms`;
  if (name.endsWith('_SECONDS')) return `${value} s`;
  return String(value);
}

describe('the limits table of docs/operations.md', () => {
  const rows = docTable('docs/operations.md', 'Limits', 'limit');
  const documented = new Map(rows.map(([, value, name]) => [unquote(name!), value]));

  it('lists every limit and default of src/shared/limits.ts, and no other', () => {
    const missing = named.map(([name]) => name).filter((name) => !documented.has(name));
    const unknown = [...documented.keys()].filter((name) => !named.some(([n]) => n === name));
    expect(missing, 'limits to add to the table').toEqual([]);
    expect(unknown, 'table rows with no constant in src/shared/limits.ts').toEqual([]);
  });

  it('gives each its current value', () => {
    for (const [name, value] of named) expect(documented.get(name), name).toBe(spelled(name, value));
  });
});

describe('broker config defaults', () => {
  it('are the shared limits', () => {
    const config = BrokerConfig.parse({ dbPath: ':memory:' });
    expect(config).toMatchObject({
      heartbeatMs: limits.HEARTBEAT_MS,
      helloTimeoutMs: limits.HELLO_TIMEOUT_MS,
      rateLimit: limits.RATE_LIMIT_PER_SECOND,
      rateBurst: limits.RATE_LIMIT_BURST,
      bodyLimit: limits.MAX_BODY_BYTES,
      maxListenSeconds: limits.MAX_LISTEN_SECONDS,
    });
  });
});
