/**
 * A running interactive Claude Code (the TUI) inside a tmux server of its own: what the terminal
 * shows, its debug log, typing as a user, and killing it so that nothing outlives the test: the
 * tmux server, Claude Code itself (waited for), and, at exit, any server a test could not kill.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

/** A running interactive Claude Code inside tmux. */
export class Interactive {
  constructor(
    readonly socket: string,
    readonly debugFile: string,
    private readonly env: Record<string, string>,
    private readonly onKill: () => void = () => {},
  ) {}

  private tmux(args: string[]) {
    return spawnSync('tmux', ['-L', this.socket, ...args], { env: { ...this.env, TMUX: '' }, encoding: 'utf8' });
  }

  /** What the terminal shows now. */
  screen(): string {
    return this.tmux(['capture-pane', '-p', '-t', '0']).stdout ?? '';
  }

  debugLog(): string {
    try {
      return readFileSync(this.debugFile, 'utf8');
    } catch {
      return '';
    }
  }

  /** Types `text` as the user would and presses Enter. */
  async type(text: string): Promise<void> {
    this.tmux(['send-keys', '-t', '0', '-l', text]);
    // The TUI takes a pasted burst as one input; Enter sent in the same burst can be swallowed.
    await new Promise((resolve) => setTimeout(resolve, 300));
    this.tmux(['send-keys', '-t', '0', 'Enter']);
  }

  async waitForDebug(pattern: RegExp, timeoutMs = 30_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!pattern.test(this.debugLog())) {
      if (Date.now() > deadline)
        throw new Error(
          `timed out after ${timeoutMs} ms waiting for ${pattern} in Claude Code's debug log:\n${this.debugLog().slice(-3000)}\n--- screen\n${this.screen()}`,
        );
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }

  async waitForScreen(pattern: RegExp, timeoutMs = 30_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!pattern.test(this.screen())) {
      if (Date.now() > deadline)
        throw new Error(`timed out after ${timeoutMs} ms waiting for ${pattern} on screen:\n${this.screen()}`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }

  /**
   * Ends the session: the tmux server goes (Claude Code gets SIGHUP), and this waits until Claude
   * Code itself has exited, which takes it a moment of writing into the home; SIGKILL after 5 s.
   */
  async kill(): Promise<void> {
    const pid = Number(this.tmux(['list-panes', '-t', '0', '-F', '#{pane_pid}']).stdout?.trim());
    this.tmux(['kill-server']);
    this.onKill();
    if (!Number.isInteger(pid) || pid <= 0) return;
    const deadline = Date.now() + 5_000;
    while (alive(pid)) {
      if (Date.now() > deadline) {
        process.kill(pid, 'SIGKILL');
        break;
      }
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

const exitKills = new Set<string>();

/**
 * A tmux server outlives the test process that started it (its clients are detached), so one the
 * test could not kill (a crashed worker, an interrupted run) is killed when this process exits.
 */
export function killOnExit(socket: string): void {
  if (exitKills.size === 0)
    process.once('exit', () => {
      for (const name of exitKills) spawnSync('tmux', ['-L', name, 'kill-server']);
    });
  exitKills.add(socket);
}
