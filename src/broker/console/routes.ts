/**
 * The console's REST API (session cookie) and the owner's routes (owner token): login codes,
 * holds and resume. Like the partner routes they validate, authenticate, rate-limit and call
 * one operation; sending, acking and creating groups go through the same service as agents.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import {
  LoginCodeBody,
  PageQuery,
  ReadBody,
  SessionBody,
  type ConsoleMe,
  type LoopGuardSetting,
} from '../../shared/console-protocol.ts';
import { DuoError } from '../../shared/errors.ts';
import { directMembers, GROUP_ID_PATTERN } from '../../shared/ids.ts';
import { ConversationId, CreateConversationBody, EmptyBody, HistoryQuery, TalkBody } from '../../shared/protocol.ts';
import { OWNER_TOKEN_HEADER } from '../../shared/owner-token.ts';
import { VERSION } from '../../shared/version.ts';
import { parseInput } from '../input.ts';
import type { LoopGuard } from '../loop-guard.ts';
import type { BrokerMetrics } from '../metrics.ts';
import type { OwnerAuth } from '../owner.ts';
import type { RateLimiter } from '../rate-limit.ts';
import type { BrokerService } from '../service.ts';
import type { Store } from '../store.ts';
import type { Humans } from './humans.ts';
import { notLoggedIn, SESSION_TTL_MS, type Logins } from './logins.ts';
import { isSameOriginFetch } from './origin.ts';
import type { ConsoleStore } from './store.ts';
import type { ConsoleViews } from './views.ts';

const DEFAULT_PAGE = 50;
const MAX_CONVERSATION_PAGE = 200;
const MAX_PARTNER_PAGE = 500;
const DEFAULT_HISTORY = 50;
const MAX_HISTORY = 200;

export interface ConsoleRouteDeps {
  service: BrokerService;
  limiter: RateLimiter;
  /** Counts a failed owner token or console session from the request's address (429 past the burst). */
  failed(request: FastifyRequest): void;
  /** Closes the watch sockets of the console session `sessionId` (its token hash). */
  endSession(sessionId: string): void;
  owner: OwnerAuth;
  logins: Logins;
  humans: Humans;
  guard: LoopGuard;
  views: ConsoleViews;
  store: ConsoleStore;
  messages: Store;
  loopGuard: LoopGuardSetting;
  metrics: Pick<BrokerMetrics, 'stored' | 'authFailure'>;
}

export async function registerConsoleRoutes(app: FastifyInstance, deps: ConsoleRouteDeps): Promise<void> {
  const { service, logins, views } = deps;

  function throttle(key: string): void {
    const wait = deps.limiter.take(key);
    if (wait > 0)
      throw new DuoError('rate_limited', `Too many requests; wait ${wait} s and retry.`, { retryAfter: wait });
  }

  /** The human behind the request's console session. */
  async function human(request: FastifyRequest): Promise<string> {
    if (!isSameOriginFetch(request.headers['sec-fetch-site'])) {
      throw new DuoError('origin_forbidden', 'Console requests must come from the console page itself.');
    }
    const session = await logins.session(request);
    if (!session) {
      deps.metrics.authFailure('console_session');
      deps.failed(request);
      throw notLoggedIn();
    }
    throttle(`console:${session.partnerId}`);
    return session.partnerId;
  }

  /** The owner token itself (never the join token), counting failures per address. */
  function requireOwner(request: FastifyRequest): void {
    try {
      deps.owner.require(request);
    } catch (error) {
      deps.failed(request);
      throw error;
    }
    throttle('owner');
  }

  /** The owner token, or a console session (whose human the owner let in). */
  async function ownerOrHuman(request: FastifyRequest): Promise<void> {
    // A request that shows a token is judged by it: the join token is told it is not the owner's.
    if (request.headers[OWNER_TOKEN_HEADER] !== undefined) return requireOwner(request);
    await human(request);
  }

  const pathId = (request: FastifyRequest) =>
    parseInput(ConversationId, (request.params as Record<string, string>).id ?? '', 'conversation id');

  // ---------------------------------------------------------------- owner

  app.post('/console/codes', async (request) => {
    requireOwner(request);
    const body = parseInput(LoginCodeBody, request.body, 'login request');
    const who = await deps.humans.ensure(body.partnerId, body.name);
    const { code, expiresAt } = logins.mint(who.partnerId);
    // In the fragment, the code never reaches a server log, a proxy or a Referer header.
    return { ...who, code, path: `/console/login#code=${code}`, expiresAt };
  });

  app.get('/holds', async (request) => {
    await ownerOrHuman(request);
    return { holds: deps.guard.all() };
  });

  app.post('/conversations/:id/resume', async (request) => {
    await ownerOrHuman(request);
    const conversationId = pathId(request);
    parseInput(EmptyBody, request.body === undefined ? {} : request.body, 'resume body');
    if (!(await deps.store.conversation(conversationId))) {
      throw new DuoError('unknown_conversation', `There is no conversation "${conversationId}".`);
    }
    return { conversationId, resumed: deps.guard.resume(conversationId) };
  });

  // ---------------------------------------------------------------- logging in and out

  app.post('/console/api/session', async (request, reply) => {
    throttle(`ip:${request.ip}`);
    const { code } = parseInput(SessionBody, request.body, 'login');
    const { token, pageKey, session } = await logins.redeem(code).catch((error: unknown) => {
      deps.metrics.authFailure('login_code');
      throw error;
    });
    logins.setCookie(request, reply, token, SESSION_TTL_MS);
    const partner = await deps.store.partner(session.partnerId);
    return {
      partnerId: session.partnerId,
      name: partner?.name ?? session.partnerId,
      expiresAt: session.expiresAt,
      pageKey,
    };
  });

  app.post('/console/api/logout', async (request, reply) => {
    throttle(`ip:${request.ip}`);
    parseInput(EmptyBody, request.body === undefined ? {} : request.body, 'logout body');
    const session = await logins.session(request);
    if (session) {
      await logins.end(session);
      deps.endSession(session.tokenHash);
    }
    logins.setCookie(request, reply, '', 0);
    return { loggedOut: true };
  });

  // ---------------------------------------------------------------- reading

  app.get('/console/api/me', async (request): Promise<ConsoleMe> => {
    const me = await human(request);
    const partner = await deps.store.partner(me);
    return { partnerId: me, name: partner?.name ?? me, loopGuard: deps.loopGuard, version: VERSION };
  });

  app.get('/console/api/conversations', async (request) => {
    const me = await human(request);
    const query = parseInput(PageQuery, request.query, 'page query');
    return views.conversations(me, query.after, pageSize(query.limit, DEFAULT_PAGE, MAX_CONVERSATION_PAGE));
  });

  app.get('/console/api/conversations/:id', async (request) => {
    const me = await human(request);
    return { conversation: await views.conversation(me, pathId(request)) };
  });

  app.get('/console/api/conversations/:id/messages', async (request) => {
    await human(request);
    const conversationId = pathId(request);
    const query = parseInput(HistoryQuery, request.query, 'history query');
    if (!(await deps.store.conversation(conversationId))) {
      throw new DuoError('unknown_conversation', `There is no conversation "${conversationId}".`);
    }
    return deps.messages.history(conversationId, {
      limit: pageSize(query.limit, DEFAULT_HISTORY, MAX_HISTORY),
      ...(query.before === undefined ? {} : { before: query.before }),
    });
  });

  app.get('/console/api/partners', async (request) => {
    await human(request);
    const query = parseInput(PageQuery, request.query, 'page query');
    return views.partners(query.after, pageSize(query.limit, DEFAULT_PAGE * 2, MAX_PARTNER_PAGE));
  });

  // ---------------------------------------------------------------- acting as the human

  app.post('/console/api/talk', async (request) => {
    const me = await human(request);
    const body = parseInput(TalkBody, request.body, 'message');
    if (body.conversationId !== undefined) {
      const members = directMembers(body.conversationId);
      if (members && !members.includes(me)) {
        throw new DuoError(
          'forbidden',
          `"${body.conversationId}" is the direct conversation of ${members[0]} and ${members[1]}; nobody else can write in it. Message one of them directly, or resume the conversation if it is on hold.`,
        );
      }
      // Writing in a group joins it, as a member would be added.
      if (GROUP_ID_PATTERN.test(body.conversationId)) await service.conversations.join(me, body.conversationId);
    }
    const reply = await service.writes.talk(me, body);
    if (!reply.duplicate) deps.metrics.stored('console');
    return reply;
  });

  app.post('/console/api/conversations', async (request) => {
    const me = await human(request);
    const body = parseInput(CreateConversationBody, request.body, 'group');
    return { conversation: await service.conversations.createGroup(me, body.name, body.participants) };
  });

  app.post('/console/api/conversations/:id/read', async (request) => {
    const me = await human(request);
    const conversationId = pathId(request);
    const { upTo } = parseInput(ReadBody, request.body, 'read mark');
    await service.writes.ack(me, conversationId, upTo);
    return { conversationId, upTo };
  });
}

function pageSize(asked: number | undefined, fallback: number, max: number): number {
  const size = asked ?? fallback;
  if (size < 1 || size > max) throw new DuoError('bad_request', `limit must be between 1 and ${max}.`);
  return size;
}
