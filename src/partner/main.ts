/**
 * `duo partner`: the stdio MCP server Claude Code spawns. stdout carries MCP frames and nothing
 * else; logs go to stderr. It exits within a few seconds of stdin closing or SIGTERM/SIGINT,
 * closing the broker socket on the way out so no process is left behind.
 */
import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js';
import type { JSONRPCMessage } from '@modelcontextprotocol/sdk/types.js';
import { ensureBroker } from '../client/autostart.ts';
import { PARTNER_EXIT_DEADLINE_MS } from '../shared/defaults.ts';
import { createLogger } from '../shared/log.ts';
import { partnerConfigFromEnv, type PartnerConfigInput } from './config.ts';
import { Partner } from './partner.ts';
import { createPartnerServer } from './server.ts';

export interface RunPartnerOptions {
  env?: Record<string, string | undefined>;
  cwd?: string;
  /** CLI flags, taking precedence over the environment. */
  overrides?: Partial<PartnerConfigInput>;
}

export async function runPartner(options: RunPartnerOptions = {}): Promise<void> {
  const env = options.env ?? process.env;
  const config = partnerConfigFromEnv(env, options.cwd ?? process.cwd(), options.overrides);
  const logger = createLogger('duo-partner', config.logLevel);
  // A broker is started on demand (loopback only), off the MCP initialize path.
  let brokerStart: Promise<unknown> | undefined;
  const beforeFirstRequest = () => (brokerStart = ensureBroker(config.brokerUrl, { env }));
  const partner = new Partner({ config, logger, beforeFirstRequest });
  const server = createPartnerServer(partner);
  const transport = new StdioServerTransport();

  let stopping = false;
  const stop = (why: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ why }, 'stopping');
    // Whatever happens in the orderly path, the process is gone by the deadline.
    setTimeout(() => process.exit(0), PARTNER_EXIT_DEADLINE_MS).unref();
    void (async () => {
      // A broker start under way is seen through (within the deadline): a client that asks and
      // leaves at once, as `claude mcp list`'s health check does, must not leave it half done.
      await brokerStart?.catch(() => undefined);
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
  logger.info({ brokerUrl: config.brokerUrl, projectDir: config.projectDir }, 'partner started');
  startAfterToolList(transport, () => partner.start());
}

/**
 * Registration (the first request, the WebSocket) begins once `tools/list` is answered: Claude
 * Code waits for that answer before the session's first model request, not for the broker, and
 * on a busy machine the two would compete. Any other request starts it too, and so does a
 * client that lists nothing within REGISTER_AT_LATEST_MS.
 */
function startAfterToolList(transport: StdioServerTransport, start: () => void): void {
  let started = false;
  const startOnce = () => {
    if (started) return;
    started = true;
    clearTimeout(latest);
    // After the reply: the server writes it in the microtasks that follow this message.
    setImmediate(start);
  };
  const latest = setTimeout(startOnce, REGISTER_AT_LATEST_MS);
  const receive = transport.onmessage;
  transport.onmessage = (message: JSONRPCMessage) => {
    receive?.(message);
    if ('method' in message && !HANDSHAKE.has(message.method)) startOnce();
  };
}

const HANDSHAKE = new Set(['initialize', 'notifications/initialized', 'ping']);
const REGISTER_AT_LATEST_MS = 500;
