/**
 * A running `claude -p … --output-format stream-json --verbose`: its stdout parsed line by line,
 * with waits for the `init` line (which MCP servers connected) and the final `result`.
 */
import type { ChildProcessWithoutNullStreams } from 'node:child_process';
import { nextChange } from './fake-api.ts';

/** One stream-json line of `claude -p --output-format stream-json --verbose`. */
export interface StreamLine {
  type: string;
  subtype?: string;
  [key: string]: any;
}

/** A running `claude -p`. */
export class Headless {
  readonly lines: StreamLine[] = [];
  stdout = '';
  stderr = '';
  /** Resolves with the exit code once the process ended. */
  readonly done: Promise<number | null>;
  private readonly waiters = new Set<() => void>();

  constructor(readonly child: ChildProcessWithoutNullStreams) {
    let pending = '';
    child.stdout.on('data', (chunk: Buffer) => {
      const text = chunk.toString();
      this.stdout += text;
      pending += text;
      const parts = pending.split('\n');
      pending = parts.pop()!;
      for (const line of parts) {
        if (line.trim() === '') continue;
        try {
          this.lines.push(JSON.parse(line) as StreamLine);
        } catch {
          this.lines.push({ type: 'unparsed', line });
        }
      }
      this.wake();
    });
    child.stderr.on('data', (chunk: Buffer) => (this.stderr += chunk.toString()));
    this.done = new Promise((resolve) => child.once('close', (code) => resolve(code)));
    void this.done.then(() => this.wake());
  }

  /** The `init` line: model, tools, `mcp_servers` with their status. */
  init(timeoutMs = 30_000): Promise<StreamLine> {
    return this.line((l) => l.type === 'system' && l.subtype === 'init', timeoutMs, 'the init line');
  }

  /** The status of the duo server in the init line (`connected`, `pending`, `failed`). */
  async duoStatus(timeoutMs = 30_000): Promise<string | undefined> {
    const init = await this.init(timeoutMs);
    return (init.mcp_servers as { name: string; status: string }[] | undefined)?.find((s) => s.name === 'duo')?.status;
  }

  /** The final `result` line; throws with the output when the process ended without one. */
  result(timeoutMs = 60_000): Promise<StreamLine> {
    return this.line((l) => l.type === 'result', timeoutMs, 'the result line');
  }

  async line(predicate: (line: StreamLine) => boolean, timeoutMs: number, what: string): Promise<StreamLine> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = this.lines.find(predicate);
      if (found) return found;
      const ended = this.child.exitCode !== null || this.child.signalCode !== null;
      if (ended || Date.now() > deadline)
        throw new Error(
          `${ended ? `claude -p exited (${this.child.exitCode ?? this.child.signalCode})` : `timed out after ${timeoutMs} ms`} without ${what}:\n${this.output()}`,
        );
      await nextChange(this.waiters, Math.max(1, deadline - Date.now()));
    }
  }

  output(): string {
    return `--- stdout (last 3000)\n${this.stdout.slice(-3000)}\n--- stderr (last 3000)\n${this.stderr.slice(-3000)}`;
  }

  kill(): void {
    this.child.kill('SIGKILL');
  }

  private wake(): void {
    for (const waiter of [...this.waiters]) waiter();
  }
}
