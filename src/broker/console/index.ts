/**
 * The human's seat, assembled: the owner credential, human identities and console logins, the
 * loop guard with its persisted holds, the watch stream, the console's API and its files. The
 * broker builds this before its service (the service calls the returned hooks) and registers
 * the routes beside its own.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { BrokerConfig } from '../../shared/config.ts';
import type { Hold, LoopGuardSetting } from '../../shared/console-protocol.ts';
import type { Message } from '../../shared/protocol.ts';
import type { Logger } from '../../shared/log.ts';
import type { Peers } from '../cluster/peers.ts';
import type { OpenedDatabase } from '../db.ts';
import { LoopGuard } from '../loop-guard.ts';
import { DuoError } from '../../shared/errors.ts';
import { joinIsNotOwner, OwnerAuth } from '../owner.ts';
import { OWNER_TOKEN_HEADER } from '../../shared/owner-token.ts';
import type { RateLimiter } from '../rate-limit.ts';
import { throttle } from '../rest-auth.ts';
import type { Clock } from '../clock.ts';
import type { ServiceHooks } from '../hooks.ts';
import type { BrokerMetrics } from '../metrics.ts';
import type { BrokerService } from '../service.ts';
import { Store } from '../store.ts';
import { WatchHub } from '../watch-hub.ts';
import { registerWatch, type WatchSockets } from '../watch-socket.ts';
import { Humans } from './humans.ts';
import { Logins } from './logins.ts';
import { registerConsoleRoutes } from './routes.ts';
import type { ConsoleTables } from './schema.ts';
import { registerStatic } from './static.ts';
import { ConsoleStore } from './store.ts';
import { ConsoleViews } from './views.ts';

const SWEEP_MS = 3_600_000;

export interface HumanSeat {
  owner: OwnerAuth;
  guard: LoopGuard;
  hub: WatchHub;
  /**
   * What the service calls: the loop guard before each send, the watch stream after commits
   * (messages, read cursors moved, pushes recorded: what the console's receipts follow).
   */
  hooks: ServiceHooks;
  /** Tells the loop guard the conversations' members (it keys budgets by the set of agents). */
  useMembership(members: (conversationId: string) => Iterable<string>): void;
  /**
   * What other brokers of the database report: their messages (for the loop guard), holds and
   * releases, and console sessions logged out there.
   */
  elsewhere: {
    committed(message: Message): Promise<void>;
    held(hold: Hold): void;
    released(conversationId: string, by: 'resume' | 'human_message'): void;
    /** Console session `sessionId` (its token hash) was logged out: its watch sockets here close (4011). */
    loggedOut(sessionId: string): void;
    /** News from the other brokers may have been missed: read holds again, watchers read the store. */
    resync(): Promise<void>;
  };
  register(
    app: FastifyInstance,
    deps: { service: BrokerService; limiter: RateLimiter; authFailures: RateLimiter },
  ): Promise<void>;
  stop(): void;
}

export async function createHumanSeat(
  config: BrokerConfig,
  database: OpenedDatabase,
  clock: Clock,
  log: Logger,
  peers: Pick<Peers, 'publish'>,
  metrics: Pick<BrokerMetrics, 'authFailure' | 'held' | 'stored'>,
): Promise<HumanSeat> {
  const store = new ConsoleStore(database.db.withTables<ConsoleTables>());
  const now = () => clock.now();
  const owner = new OwnerAuth(config, () => metrics.authFailure('owner_token'));
  const humans = new Humans(store, now);
  await humans.load();
  const logins = new Logins(store, now, config.tlsCert !== undefined);
  const hub = new WatchHub();
  /** The watch sockets, once the routes are registered. */
  let watch: WatchSockets | undefined;

  const guard = new LoopGuard(config.loopGuard, now, {
    held(hold) {
      metrics.held();
      hub.held(hold);
      peers.publish({ t: 'hold', hold });
      store
        .putHold({
          conversation_id: hold.conversationId,
          held_at: hold.heldAt,
          messages: hold.messages,
          window_ms: hold.windowSeconds * 1000,
        })
        .catch((error: unknown) =>
          log.warn({ err: error, conversationId: hold.conversationId }, 'could not store a hold'),
        );
    },
    released(conversationId, by) {
      hub.released(conversationId, by);
      peers.publish({ t: 'free', c: conversationId, by });
      store
        .deleteHold(conversationId)
        .catch((error: unknown) => log.warn({ err: error, conversationId }, 'could not remove a hold'));
    },
  });
  const storedHolds = async () =>
    (await store.allHolds()).map((row) => ({
      conversationId: row.conversation_id,
      heldAt: row.held_at,
      messages: row.messages,
      windowSeconds: Math.round(row.window_ms / 1000),
    }));
  guard.load(await storedHolds());

  const sweep = () =>
    logins.sweep().catch((error: unknown) => log.warn({ err: error }, 'could not remove expired console sessions'));
  void sweep();
  const sweeper = setInterval(sweep, SWEEP_MS);
  sweeper.unref();

  const loopGuard: LoopGuardSetting = config.loopGuard && {
    limit: config.loopGuard.limit,
    windowSeconds: Math.round(config.loopGuard.windowMs / 1000),
  };

  return {
    owner,
    guard,
    hub,
    useMembership: (members) => guard.useParticipants({ members, isHuman: (id) => humans.has(id) }),
    hooks: {
      beforeTalk: (conversationId, senderId) => guard.admit(conversationId, senderId, humans.has(senderId)),
      committed: (message, inOrder) => hub.message(message, inOrder),
      held: (conversationId) => guard.get(conversationId) !== undefined,
      presence: (partnerId, online, status) => hub.presence(partnerId, online, status),
      cursorMoved: (partnerId, conversationId, upTo) => hub.read(partnerId, conversationId, upTo),
      pushed: (partnerId, upTo) => hub.pushed(partnerId, upTo),
    },
    elsewhere: {
      async committed(message) {
        if (guard.policy) guard.observe(message.conversationId, message.from, await humans.isHuman(message.from));
      },
      held(hold) {
        guard.adoptHold(hold);
        hub.held(hold);
      },
      released(conversationId, by) {
        if (guard.adoptRelease(conversationId)) hub.released(conversationId, by);
      },
      loggedOut(sessionId) {
        watch?.closeSession(sessionId);
      },
      async resync() {
        hub.resync();
        guard.load(await storedHolds());
      },
    },
    async register(app, { service, limiter, authFailures }) {
      const messages = new Store(database.db, database.dialect);
      const views = new ConsoleViews(store, guard, service.presence);
      // Failed owner tokens and console sessions count per address, like failed partner secrets.
      const failed = (request: FastifyRequest) =>
        throttle(authFailures, request.ip, 'attempts with a missing or wrong owner token or console session');
      const sockets = await registerWatch(app, {
        hub,
        heartbeatMs: config.heartbeatMs,
        loopGuard,
        authorize: async (request: FastifyRequest) => {
          const wait = limiter.take(`watch:${request.ip}`);
          if (wait > 0)
            throw new DuoError('rate_limited', `Too many watch connections; wait ${wait} s and retry.`, {
              retryAfter: wait,
            });
          const credential = owner.credential(request);
          if (credential === 'owner') return undefined;
          const session = await logins.session(request);
          if (session) return { sessionId: session.tokenHash, partnerId: session.partnerId };
          metrics.authFailure(credential === undefined && !hasOwnerHeader(request) ? 'console_session' : 'owner_token');
          failed(request);
          throw credential === 'join' ? joinIsNotOwner() : watchRefused();
        },
        keepOnline: (partnerId) => service.presence.holdOnline(partnerId),
        newestMessageId: () => messages.maxMessageId(),
        messagesAfter: async (afterId, limit) =>
          (await store.messagesAfter(afterId, limit)).map((r) => ({
            id: r.id,
            conversationId: r.conversation_id,
            from: r.sender,
            content: r.content,
            createdAt: r.created_at,
          })),
      });
      watch = sockets;
      await registerStatic(app);
      await registerConsoleRoutes(app, {
        service,
        limiter,
        failed,
        endSession: (sessionId) => {
          sockets.closeSession(sessionId);
          // Its watch sockets on the other brokers of the database close too.
          peers.publish({ t: 'out', s: sessionId });
        },
        owner,
        logins,
        humans,
        guard,
        views,
        store,
        messages,
        loopGuard,
        metrics,
      });
    },
    stop() {
      clearInterval(sweeper);
    },
  };
}

function watchRefused(): DuoError {
  return new DuoError(
    'unauthorized',
    'The watch stream needs the owner token in the "X-Duo-Token" header (`duo token` prints it), or a console session (`duo web`) with its page key.',
  );
}

/** Whether the request tried an owner token at all (a watch without one is a console's). */
function hasOwnerHeader(request: FastifyRequest): boolean {
  return request.headers[OWNER_TOKEN_HEADER] !== undefined;
}
