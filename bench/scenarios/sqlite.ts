/** The raw SQLite anchor runs in its own process (bench/anchors/sqlite-insert.ts); this reads its figures. */
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { summarize } from '../lib/stats.ts';

export interface SqliteResult {
  n: number;
  p50: number;
  p99: number;
  insertsPerSecond: number;
}

const ENTRY = fileURLToPath(new URL('../anchors/sqlite-insert.ts', import.meta.url));

export function sqliteInsert(dbPath: string, count: number): Promise<SqliteResult> {
  return new Promise((resolve, reject) => {
    execFile(
      process.execPath,
      ['--import', 'tsx', ENTRY, '--db', dbPath, '--count', String(count)],
      (error, stdout, stderr) => {
        if (error) {
          reject(new Error(`sqlite-insert failed: ${stderr || error.message}`));
          return;
        }
        const { samplesMs, insertsPerSecond } = JSON.parse(stdout) as { samplesMs: number[]; insertsPerSecond: number };
        const summary = summarize(samplesMs);
        resolve({ n: summary.n, p50: summary.p50, p99: summary.p99, insertsPerSecond });
      },
    );
  });
}
