/**
 * The partner's logger: pino, like the broker's, writing to stderr (stdout belongs to MCP
 * frames; Claude Code keeps stderr in its MCP log), with secrets redacted should one ever be
 * passed in a field.
 */
import pino from 'pino';

export type LogLevel = 'error' | 'warn' | 'info' | 'debug' | 'silent';

export interface Logger {
  error(message: string, extra?: Record<string, unknown>): void;
  warn(message: string, extra?: Record<string, unknown>): void;
  info(message: string, extra?: Record<string, unknown>): void;
  debug(message: string, extra?: Record<string, unknown>): void;
}

export function createLogger(level: LogLevel): Logger {
  const log = pino(
    { name: 'duo-partner', level, redact: { paths: ['secret', 'token', '*.secret', '*.token'], censor: '[redacted]' } },
    // Synchronous, so the last lines before an exit are not lost.
    pino.destination({ dest: 2, sync: true }),
  );
  return {
    error: (message, extra) => log.error(extra ?? {}, message),
    warn: (message, extra) => log.warn(extra ?? {}, message),
    info: (message, extra) => log.info(extra ?? {}, message),
    debug: (message, extra) => log.debug(extra ?? {}, message),
  };
}

export const silentLogger: Logger = createLogger('silent');
