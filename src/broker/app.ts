/**
 * Builds the broker from its dependencies: config, database, clock. Tests start exactly this;
 * main.ts only adds the listening socket and signal handling.
 */
import { readFileSync } from 'node:fs';
import { createServer, type RequestListener, type ServerOptions } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import websocket from '@fastify/websocket';
import Fastify, { type FastifyInstance } from 'fastify';
import type { BrokerConfig } from '../shared/config.ts';
import { DuoError } from '../shared/errors.ts';
import {
  AUTH_FAILURE_BURST,
  AUTH_FAILURES_PER_SECOND,
  CONNECTIONS_CHECK_MS,
  HEADERS_TIMEOUT_MS,
  HEADER_PARSER_CEILING_BYTES,
  RATE_LIMIT_SWEEP_MS,
  REQUEST_TIMEOUT_MS,
} from '../shared/limits.ts';
import { REDACTED_PATHS } from '../shared/log.ts';
import { systemClock, type Clock } from './clock.ts';
import { openDatabase, type OpenedDatabase } from './db.ts';
import { createHumanSeat } from './console/index.ts';
import { WATCH_PROTOCOL } from './console/logins.ts';
import { securityHeaders } from './console/static.ts';
import { toDuoError } from './errors.ts';
import { clientErrorHandler, frameworkErrors, sendError } from './error-replies.ts';
import { createGuard } from './guard.ts';
import type { OwnerAuth } from './owner.ts';
import { BrokerMetrics } from './metrics.ts';
import { registerMetricsRoute } from './metrics-route.ts';
import { RateLimiter } from './rate-limit.ts';
import { RestAuth } from './rest-auth.ts';
import { registerRoutes } from './routes.ts';
import { Peers } from './cluster/peers.ts';
import { BrokerService } from './service.ts';
import { Store } from './store.ts';
import { registerWebSocket } from './ws.ts';

export interface Broker {
  app: FastifyInstance;
  service: BrokerService;
  /** The open database; fault tests use it to simulate a full disk. */
  database: OpenedDatabase;
  /** The owner token this broker accepts now (X-Duo-Token): console logins, holds, resume, the watch stream. */
  readonly ownerToken: string;
  /** The other brokers of its database, and this broker's id among them. */
  peers: Peers;
  /** Stops accepting work, closes sockets and the database. */
  close(): Promise<void>;
}

export interface BrokerDeps {
  clock?: Clock;
}

/** What a broker has started so far: `shutDown` stops exactly these. */
interface Started {
  database: OpenedDatabase;
  app?: FastifyInstance;
  seat?: { stop(): void };
  service?: BrokerService;
  team?: { leave(): Promise<void> } | undefined;
  sweeper?: NodeJS.Timeout;
  /** Set once shutting down: new requests and WebSocket upgrades are refused. */
  closing?: boolean;
}

export async function buildBroker(config: BrokerConfig, deps: BrokerDeps = {}): Promise<Broker> {
  const started: Started = { database: await openDatabase(config.dbPath) };
  try {
    return await assembleBroker(config, deps, started);
  } catch (error) {
    // A step failed (the team could not be joined, the service not started): nothing already
    // started may keep the process alive, neither the database pool nor a timer.
    await shutDown(started).catch(() => {});
    throw error;
  }
}

/**
 * Stops what `started` holds. The listener stops accepting first, so no session can open here
 * after the other brokers of a team were told this one is gone (`bye`).
 */
async function shutDown(started: Started): Promise<void> {
  const { app, seat, service, team, database } = started;
  started.closing = true;
  if (app?.server.listening) app.server.close(() => {});
  clearInterval(started.sweeper);
  seat?.stop();
  await service?.closeSessions();
  service?.stop();
  await team?.leave();
  await app?.close();
  await database.close();
}

async function assembleBroker(config: BrokerConfig, deps: BrokerDeps, started: Started): Promise<Broker> {
  const { database } = started;
  const metrics = new BrokerMetrics();
  // The guard tells the join token from the owner's, which the human seat knows; the seat is made
  // after the app (whose construction needs the guard), and before any request can arrive.
  const owner: { auth?: Pick<OwnerAuth, 'credential'> } = {};
  const guard = createGuard(config, { credential: (request) => owner.auth?.credential(request) }, () =>
    metrics.authFailure('join_token'),
  );
  const app = (started.app = Fastify({
    logger: {
      level: config.logLevel,
      // stdout belongs to whoever embeds us (the partner's MCP frames); logs go to stderr.
      stream: process.stderr,
      redact: { paths: REDACTED_PATHS, censor: '[redacted]' },
      serializers: { req: serializeRequest },
    },
    bodyLimit: config.bodyLimit,
    // Slow clients (slowloris) are cut off: the headers, then the whole request, must arrive in
    // time. Long-poll responses are not affected; these limits only cover receiving the request.
    serverFactory: (handler) => createNodeServer(config, handler),
    forceCloseConnections: true,
    return503OnClosing: true,
    // Requests the HTTP parser cannot read (broken request line or framing, headers past the
    // parser's ceiling, a header timeout) and URLs that cannot be decoded get the same security
    // headers and {error, code} body as every other refusal; the latter pass the guard first.
    clientErrorHandler,
    frameworkErrors: frameworkErrors(guard),
  }));
  const clock = deps.clock ?? systemClock;
  const store = new Store(database.db, database.dialect);
  // Other brokers may share a PostgreSQL database (team mode); on SQLite there are none.
  const peers = new Peers(database.postgres !== undefined, store, app.log);
  const seat = (started.seat = await createHumanSeat(config, database, clock, app.log, peers, metrics));
  owner.auth = seat.owner;
  const service = (started.service = new BrokerService(store, clock, app.log, peers, metrics, seat.hooks));
  seat.useMembership((conversationId) => service.membership.members(conversationId));
  metrics.watch({
    sessions: () => service.sessions.size,
    longPolls: () => service.longPoll.open,
    watchers: () => seat.hub.size,
  });
  const limiter = new RateLimiter(config.rateLimit, config.rateBurst);
  // Failed authentications per client address, REST and WebSocket alike: a separate, small budget.
  const authFailures = new RateLimiter(AUTH_FAILURES_PER_SECOND, AUTH_FAILURE_BURST);
  // Listening to the other brokers starts before the memberships are read, so no change made in
  // between is missed.
  started.team =
    database.postgres &&
    (await (
      await import('./cluster/team.ts')
    ).joinTeam({
      url: database.postgres.url,
      store,
      service,
      peers,
      seat,
      limiters: { requests: limiter, auth: authFailures },
      metrics,
      log: app.log,
    }));
  await service.start();
  started.sweeper = setInterval(() => {
    limiter.sweep();
    authFailures.sweep();
  }, RATE_LIMIT_SWEEP_MS);
  started.sweeper.unref();

  // JSON only: Fastify's default text/plain parser would let a web form post reach the routes.
  app.removeAllContentTypeParsers();
  // Bodies are decoded strictly: invalid UTF-8 is refused, not silently turned into U+FFFD.
  const parseJson = app.getDefaultJsonParser('error', 'error');
  const utf8 = new TextDecoder('utf-8', { fatal: true });
  app.addContentTypeParser(
    'application/json',
    { parseAs: 'buffer', bodyLimit: config.bodyLimit },
    (request, body, done) => {
      let text: string;
      try {
        text = utf8.decode(body as Buffer);
      } catch {
        done(
          new DuoError('invalid_json', 'The request body is not valid UTF-8; send JSON encoded as UTF-8.'),
          undefined,
        );
        return;
      }
      parseJson(request, text, done);
    },
  );

  // Registered before the guard so that its own hooks mark upgrade requests first: a refused
  // upgrade then gets its HTTP error and the socket is destroyed instead of left hanging.
  // Pings are answered by the socket handler, which counts them against the rate limit like
  // frames; an automatic answer would let a ping flood run until the library cuts the socket.
  // A console watcher offers its session's page key as a subprotocol (a browser cannot set
  // headers on a WebSocket); the answer names the plain watch protocol, never echoing the key.
  await app.register(websocket, {
    options: {
      maxPayload: config.bodyLimit,
      autoPong: false,
      handleProtocols: (protocols) => (protocols.has(WATCH_PROTOCOL) ? WATCH_PROTOCOL : false),
    },
  });
  app.addHook('onRequest', async () => {
    if (started.closing)
      throw new DuoError(
        'unavailable',
        'This broker is shutting down. Retry in a few seconds: another broker of the list, or this one restarted, will answer.',
      );
  });
  app.addHook('onRequest', async (request) => guard(request));
  app.addHook('onSend', securityHeaders);

  app.setErrorHandler((error, request, reply) => {
    const duo = toDuoError(error);
    if (duo.status >= 500) request.log.error({ err: error }, duo.message);
    return sendError(reply, duo);
  });
  app.setNotFoundHandler((request, reply) => {
    const duo = new DuoError(
      'not_found',
      `There is no ${request.method} ${request.url.split('?')[0]}. See the REST table of docs/protocol.md.`,
    );
    return sendError(reply, duo);
  });

  await app.register(async (scope) => {
    await registerRoutes(scope, {
      service,
      rest: new RestAuth(service.auth, limiter, authFailures, metrics),
      owner: seat.owner,
      maxListenSeconds: config.maxListenSeconds,
      startedAt: Date.now(),
      metrics,
    });
    await registerWebSocket(scope, {
      service,
      limiter,
      authFailures,
      heartbeatMs: config.heartbeatMs,
      helloTimeoutMs: config.helloTimeoutMs,
      metrics,
    });
    await registerMetricsRoute(scope, { config, metrics, limiter, authFailures });
    await seat.register(scope, { service, limiter, authFailures });
  });

  return {
    app,
    service,
    database,
    get ownerToken() {
      return seat.owner.token;
    },
    peers,
    close: () => shutDown(started),
  };
}

/**
 * The HTTP server under Fastify: HTTPS (and so WSS) when a certificate is configured, plain HTTP
 * otherwise, with the same limits either way.
 */
function createNodeServer(config: BrokerConfig, handler: RequestListener) {
  const options: ServerOptions = {
    headersTimeout: HEADERS_TIMEOUT_MS,
    requestTimeout: REQUEST_TIMEOUT_MS,
    connectionsCheckingInterval: CONNECTIONS_CHECK_MS,
    maxHeaderSize: HEADER_PARSER_CEILING_BYTES,
    // A request without Host reaches the guard, which answers in the {error, code} envelope.
    requireHostHeader: false,
  };
  if (config.tlsCert === undefined || config.tlsKey === undefined) return createServer(options, handler);
  try {
    return createHttpsServer(
      { ...options, cert: readFileSync(config.tlsCert), key: readFileSync(config.tlsKey) },
      handler,
    );
  } catch (error) {
    throw new DuoError(
      'bad_request',
      `Cannot serve TLS with the certificate ${config.tlsCert} and the key ${config.tlsKey} (${(error as Error).message}): give a PEM certificate chain and its matching private key.`,
    );
  }
}

/** Query parameters whose values are safe to log; any other value may be a misplaced secret. */
const LOGGED_QUERY_KEYS = new Set(['timeout', 'conversationId', 'peek', 'limit', 'before', 'after']);

/**
 * What a request log line says about the request. A client may put a secret in the query string
 * by mistake (`?secret=…`), so only the values of known, harmless parameters are kept.
 */
export function serializeRequest(request: { method: string; url: string; ip?: string }): Record<string, string> {
  return { method: request.method, url: redactQuery(request.url), remoteAddress: request.ip ?? '' };
}

export function redactQuery(url: string): string {
  const mark = url.indexOf('?');
  if (mark === -1) return url;
  const params = new URLSearchParams(url.slice(mark + 1));
  for (const key of new Set(params.keys())) {
    if (!LOGGED_QUERY_KEYS.has(key)) params.set(key, '[redacted]');
  }
  return `${url.slice(0, mark)}?${params.toString().replaceAll('%5Bredacted%5D', '[redacted]')}`;
}
