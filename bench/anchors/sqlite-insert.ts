/**
 * Anchor: a raw better-sqlite3 one-row insert at the broker's durability setting (WAL,
 * synchronous=FULL), each insert its own commit. Not a server: it runs once in its own process
 * and prints its figures as one JSON line on stdout.
 * Run: node --import tsx bench/anchors/sqlite-insert.ts --db FILE --count N
 */
import { openMessagesTable } from './common.ts';
import { parseArgs } from 'node:util';
import { performance } from 'node:perf_hooks';

const { values } = parseArgs({ options: { db: { type: 'string' }, count: { type: 'string', default: '2000' } } });
if (values.db === undefined) throw new Error('sqlite-insert: --db is required');
const count = Number(values.count);

const table = openMessagesTable(values.db);

const run = (i: number) => table.insert('direct:alice:bob', 'alice', `message ${i}`, new Date().toISOString());
for (let i = 0; i < Math.min(200, count); i++) run(i);

const samplesMs: number[] = [];
const started = performance.now();
for (let i = 0; i < count; i++) {
  const t0 = performance.now();
  run(i);
  samplesMs.push(performance.now() - t0);
}
const elapsedMs = performance.now() - started;
table.close();
process.stdout.write(`${JSON.stringify({ samplesMs, insertsPerSecond: (count / elapsedMs) * 1000 })}\n`);
