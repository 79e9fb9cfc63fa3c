/**
 * The one logger shape of every process (broker, partner, CLI): pino's own argument order,
 * structured fields first and the sentence second, so a pino or Fastify logger fits as it is.
 * Logs go to stderr: stdout belongs to MCP frames in the partner and to output in the CLI.
 */
import pino from 'pino';

export type LogLevel = 'error' | 'warn' | 'info' | 'debug' | 'silent';

export interface Logger {
  error(fields: object, message: string): void;
  warn(fields: object, message: string): void;
  info(fields: object, message: string): void;
  debug(fields: object, message: string): void;
}

/** Field paths that may carry a credential; their values are replaced before a line is written. */
export const REDACTED_PATHS = [
  'secret',
  'token',
  '*.secret',
  '*.token',
  'req.headers.authorization',
  'req.headers["x-duo-token"]',
];

export function createLogger(name: string, level: LogLevel): Logger {
  return pino(
    { name, level, redact: { paths: REDACTED_PATHS, censor: '[redacted]' } },
    // Synchronous, so the last lines before an exit are not lost.
    pino.destination({ dest: 2, sync: true }),
  );
}

export const silentLogger: Logger = createLogger('silent', 'silent');
