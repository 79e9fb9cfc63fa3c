/**
 * A tiny leveled logger for the partner. stdout belongs to MCP frames, so every line goes to
 * stderr, where Claude Code keeps it in its MCP log. Callers never pass secrets.
 */
export type LogLevel = 'error' | 'warn' | 'info' | 'debug' | 'silent';

const rank: Record<LogLevel, number> = { error: 0, warn: 1, info: 2, debug: 3, silent: -1 };

export interface Logger {
  error(message: string, extra?: Record<string, unknown>): void;
  warn(message: string, extra?: Record<string, unknown>): void;
  info(message: string, extra?: Record<string, unknown>): void;
  debug(message: string, extra?: Record<string, unknown>): void;
}

export function createLogger(level: LogLevel, write: (line: string) => void = (line) => process.stderr.write(line)): Logger {
  const emit = (at: Exclude<LogLevel, 'silent'>) => (message: string, extra?: Record<string, unknown>) => {
    if (rank[at] > rank[level]) return;
    write(`${JSON.stringify({ time: new Date().toISOString(), level: at, name: 'duo-partner', msg: message, ...extra })}\n`);
  };
  return { error: emit('error'), warn: emit('warn'), info: emit('info'), debug: emit('debug') };
}

export const silentLogger: Logger = createLogger('silent');
