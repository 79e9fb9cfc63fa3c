/**
 * `duo partner`: the stdio MCP server Claude Code spawns. stdout carries MCP frames and nothing
 * else; logs go to stderr. It exits within a few seconds of stdin closing or SIGTERM/SIGINT,
 * closing the broker socket on the way out so no process is left behind.
 */
import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js';
import { ensureBroker } from '../client/autostart.ts';
import { partnerConfigFromEnv, type PartnerConfigInput } from './config.ts';
import { createLogger } from './log.ts';
import { Partner } from './partner.ts';
import { createPartnerServer } from './server.ts';

export interface RunPartnerOptions {
  env?: Record<string, string | undefined>;
  cwd?: string;
  /** CLI flags, taking precedence over the environment. */
  overrides?: Partial<PartnerConfigInput>;
}

const EXIT_DEADLINE_MS = 3_000;

export async function runPartner(options: RunPartnerOptions = {}): Promise<void> {
  const env = options.env ?? process.env;
  const config = partnerConfigFromEnv(env, options.cwd ?? process.cwd(), options.overrides);
  const logger = createLogger(config.logLevel);
  const beforeFirstRequest = () => ensureBroker(config.brokerUrl, { env });
  const partner = new Partner({ config, logger, beforeFirstRequest });
  const server = createPartnerServer(partner);
  const transport = new StdioServerTransport();

  let stopping = false;
  const stop = (why: string) => {
    if (stopping) return;
    stopping = true;
    logger.info('stopping', { why });
    // Whatever happens in the orderly path, the process is gone by the deadline.
    setTimeout(() => process.exit(0), EXIT_DEADLINE_MS).unref();
    void (async () => {
      await partner.close().catch(() => undefined);
      await server.close().catch(() => undefined);
      process.exit(0);
    })();
  };

  process.stdin.once('end', () => stop('stdin closed'));
  process.stdin.once('close', () => stop('stdin closed'));
  process.once('SIGTERM', () => stop('SIGTERM'));
  process.once('SIGINT', () => stop('SIGINT'));
  process.once('SIGHUP', () => stop('SIGHUP'));
  // A closed stdout (the client went away) must not crash with EPIPE; it means stop.
  process.stdout.on('error', () => stop('stdout closed'));
  transport.onclose = () => stop('transport closed');

  await server.connect(transport);
  logger.info('partner started', { brokerUrl: config.brokerUrl, projectDir: config.projectDir });
  partner.start();
}
