/**
 * Every server the bench measures (our broker and each anchor) runs as its own child process on
 * 127.0.0.1, so its CPU and memory are its own and the harness's clients never share its event loop.
 * A server is ready when GET /health answers 200.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { get } from 'node:http';
import { createServer } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';

export interface ServerSpec {
  /** Short label used in logs and the table. */
  name: string;
  /** TypeScript entry point, run with `node --import tsx`. */
  entry: string;
  args?: string[];
  env?: Record<string, string>;
  /** Extra flags for node itself (e.g. --cpu-prof). */
  nodeArgs?: string[];
  /** The port to listen on; the spec's env/args must carry it too. */
  port: number;
  readyTimeoutMs?: number;
}

const STDERR_TAIL_LINES = 40;

export class ServerProcess {
  readonly httpUrl: string;
  readonly wsUrl: string;
  private readonly stderrLines: string[] = [];
  private exited = false;
  private readonly exitPromise: Promise<number | null>;

  constructor(
    readonly name: string,
    readonly port: number,
    private readonly child: ChildProcess,
  ) {
    this.httpUrl = `http://127.0.0.1:${port}`;
    this.wsUrl = `ws://127.0.0.1:${port}/ws`;
    child.stderr?.setEncoding('utf8');
    child.stderr?.on('data', (chunk: string) => {
      for (const line of chunk.split('\n')) {
        if (line.trim() === '') continue;
        this.stderrLines.push(line);
        if (this.stderrLines.length > STDERR_TAIL_LINES) this.stderrLines.shift();
      }
    });
    // Anchors print nothing on stdout; drain it anyway so a chatty server can never block on a full pipe.
    child.stdout?.resume();
    this.exitPromise = new Promise((resolve) => {
      child.once('exit', (code) => {
        this.exited = true;
        resolve(code);
      });
    });
  }

  get pid(): number {
    return this.child.pid ?? -1;
  }

  get alive(): boolean {
    return !this.exited;
  }

  stderrTail(): string {
    return this.stderrLines.join('\n');
  }

  /** Resident set size of the server process, from /proc (Linux) or `ps` elsewhere. */
  async rssBytes(): Promise<number> {
    try {
      const status = await readFile(`/proc/${this.pid}/status`, 'utf8');
      const match = /^VmRSS:\s+(\d+)\s+kB/m.exec(status);
      if (match) return Number(match[1]) * 1024;
    } catch {
      // Not Linux: fall through to ps.
    }
    const out = await new Promise<string>((resolve, reject) => {
      const ps = spawn('ps', ['-o', 'rss=', '-p', String(this.pid)]);
      let text = '';
      ps.stdout.on('data', (d: Buffer) => (text += d.toString()));
      ps.once('error', reject);
      ps.once('exit', () => resolve(text));
    });
    return Number(out.trim()) * 1024;
  }

  async waitReady(timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      if (this.exited) throw new Error(`${this.name} exited before it was ready:\n${this.stderrTail()}`);
      if ((await healthStatus(this.httpUrl)) === 200) return;
      await sleep(50);
    }
    throw new Error(`${this.name} did not answer GET /health within ${timeoutMs} ms:\n${this.stderrTail()}`);
  }

  /** SIGTERM, then SIGKILL if it has not exited within `graceMs`. */
  async stop(graceMs = 5000): Promise<void> {
    if (this.exited) return;
    this.child.kill('SIGTERM');
    const timer = setTimeout(() => this.child.kill('SIGKILL'), graceMs);
    await this.exitPromise;
    clearTimeout(timer);
  }
}

function healthStatus(baseUrl: string): Promise<number> {
  return new Promise((resolve) => {
    const req = get(`${baseUrl}/health`, { timeout: 1000 }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.once('timeout', () => req.destroy());
    req.once('error', () => resolve(0));
  });
}

export async function startServer(spec: ServerSpec): Promise<ServerProcess> {
  const child = spawn(
    process.execPath,
    [...(spec.nodeArgs ?? []), '--import', 'tsx', spec.entry, ...(spec.args ?? [])],
    {
      env: { ...process.env, ...spec.env },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  const server = new ServerProcess(spec.name, spec.port, child);
  try {
    await server.waitReady(spec.readyTimeoutMs ?? 30_000);
  } catch (error) {
    await server.stop(1000);
    throw error;
  }
  return server;
}

/**
 * A port that was free a moment ago. The broker cannot listen on port 0 and report back, so we
 * pick one ourselves; the tiny race with other processes is acceptable for a bench.
 */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.unref();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const address = probe.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      probe.close(() => resolve(port));
    });
  });
}
