/** Holds the write lock of a SQLite file from another process (see lock-holder.ts). */
import { spawn, type ChildProcess } from 'node:child_process';

const holder = new URL('./lock-holder.ts', import.meta.url).pathname;
const tsxLoader = new URL('../../node_modules/tsx/dist/loader.mjs', import.meta.url).href;

export interface HeldLock {
  child: ChildProcess;
  release(): Promise<void>;
}

export async function holdDatabaseLock(dbPath: string): Promise<HeldLock> {
  const child = spawn(process.execPath, ['--import', tsxLoader, holder, dbPath], { stdio: ['pipe', 'pipe', 'pipe'] });
  let output = '';
  const saw = (word: string) =>
    new Promise<void>((resolve, reject) => {
      const check = () => {
        if (output.includes(word)) resolve();
      };
      child.stdout!.on('data', (chunk: Buffer) => {
        output += chunk.toString();
        check();
      });
      child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
      child.once('exit', (code) =>
        output.includes(word) ? resolve() : reject(new Error(`lock holder exited (${code}): ${output}`)),
      );
      check();
    });
  await saw('locked');
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  return {
    child,
    async release() {
      if (child.exitCode !== null) return;
      child.stdin!.write('go\n');
      await exited;
    },
  };
}
