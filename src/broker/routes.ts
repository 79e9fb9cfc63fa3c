/**
 * REST routes: validate with the shared schemas, call the service, reply. No logic of their own.
 * Every route that acts as a partner is authenticated before its body is read (rest-auth.ts).
 * Every conversation id (path, query or body) goes through the shared schema, so either spelling
 * of a direct id names the same conversation.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { DuoError } from '../shared/errors.ts';
import {
  DEFAULT_HISTORY_LIMIT,
  DEFAULT_LISTEN_LIMIT,
  DEFAULT_LISTEN_SECONDS,
  MAX_HISTORY_LIMIT,
  MAX_LISTEN_LIMIT,
} from '../shared/limits.ts';
import {
  ConversationId,
  CreateConversationBody,
  EmptyBody,
  HistoryQuery,
  ListenQuery,
  NotificationsBody,
  PartnerId,
  RegisterBody,
  StatusBody,
  TalkBody,
  UnregisterBody,
} from '../shared/protocol.ts';
import { VERSION } from '../shared/version.ts';
import { acceptOldDirectId, acceptOldDirectIdIn, parseInput } from './input.ts';
import { decodeCursor, encodeCursor } from '../shared/listen-cursor.ts';
import type { BrokerMetrics } from './metrics.ts';
import type { OwnerAuth } from './owner.ts';
import { bearerSecret, type RestAuth } from './rest-auth.ts';
import type { BrokerService } from './service.ts';

export interface RouteDeps {
  service: BrokerService;
  rest: RestAuth;
  /** Who holds the owner or the join token, one of which creating a new partner id requires. */
  owner: Pick<OwnerAuth, 'credential'>;
  maxListenSeconds: number;
  startedAt: number;
  metrics: Pick<BrokerMetrics, 'stored' | 'authFailure'>;
}

export async function registerRoutes(app: FastifyInstance, deps: RouteDeps): Promise<void> {
  const { service, rest } = deps;
  /** Route options of everything that acts as a partner: authenticated before the body is read. */
  const asPartner = { onRequest: rest.authenticate };

  /** The authenticated caller. */
  const caller = (request: FastifyRequest): string => rest.partnerId(request);

  /** The caller, who must be the partner named in the path. */
  function callerAs(request: FastifyRequest, partnerId: string): string {
    const id = caller(request);
    const wanted = parseInput(PartnerId, partnerId, 'partner id in the path');
    if (id !== wanted)
      throw new DuoError(
        'forbidden',
        `Your secret belongs to "${id}", not "${wanted}"; a partner can only act as itself.`,
      );
    return id;
  }

  const pathParam = (request: FastifyRequest, name: string): string =>
    (request.params as Record<string, string>)[name] ?? '';

  /** The conversation named in the path, as `me` may spell it. */
  const conversationParam = (request: FastifyRequest, me: string): string =>
    parseInput(ConversationId, acceptOldDirectId(pathParam(request, 'id'), me), 'conversation id');

  app.get('/health', async () => ({
    ok: true,
    version: VERSION,
    uptimeSeconds: Math.round((Date.now() - deps.startedAt) / 1000),
  }));

  app.post('/register', { onRequest: rest.limitAddress }, async (request) => {
    const body = parseInput(RegisterBody, request.body, 'registration');
    try {
      return await service.auth.register(body, bearerSecret(request), deps.owner.credential(request) !== undefined);
    } catch (error) {
      // A new id without the owner (or join) token.
      if (error instanceof DuoError && error.code === 'token_required') deps.metrics.authFailure('owner_token');
      throw error;
    }
  });

  app.post('/unregister', asPartner, async (request) => {
    const id = caller(request);
    const body = parseInput(UnregisterBody, request.body === undefined ? {} : request.body, 'unregister body');
    if (body.partnerId !== undefined && body.partnerId !== id) {
      throw new DuoError(
        'forbidden',
        `Your secret belongs to "${id}", not "${body.partnerId}"; a partner can only unregister itself.`,
      );
    }
    await service.lifecycle.unregister(id);
    return { partnerId: id, online: false };
  });

  app.post('/talk', asPartner, async (request) => {
    const id = caller(request);
    const reply = await service.writes.talk(id, parseInput(TalkBody, acceptOldDirectIdIn(request.body, id), 'message'));
    if (!reply.duplicate) deps.metrics.stored('rest');
    return reply;
  });

  app.get('/listen/:partnerId', asPartner, async (request, reply) => {
    const id = callerAs(request, pathParam(request, 'partnerId'));
    const query = parseInput(ListenQuery, acceptOldDirectIdIn(request.query, id), 'listen query');
    const timeout = query.timeout ?? DEFAULT_LISTEN_SECONDS;
    if (timeout > deps.maxListenSeconds) {
      throw new DuoError('bad_request', `timeout is in seconds and at most ${deps.maxListenSeconds}.`);
    }
    if (query.above !== undefined && !query.peek) {
      throw new DuoError(
        'bad_request',
        '"above" only works with peek=1: a listen that marks read never skips messages. Add peek=1, or leave "above" out.',
      );
    }
    // What the previous response returned is read now, before anything newer is handed out.
    if (query.after !== undefined) await service.longPoll.acknowledge(id, decodeCursor(query.after));
    const aborted = new AbortController();
    reply.raw.once('close', () => {
      if (!reply.raw.writableFinished) aborted.abort();
    });
    const { messages, claim } = await service.longPoll.waitForUnread(id, {
      conversationId: query.conversationId,
      timeoutMs: timeout * 1000,
      limit: Math.min(query.limit ?? DEFAULT_LISTEN_LIMIT, MAX_LISTEN_LIMIT),
      peek: query.peek ?? false,
      above: query.above,
      signal: aborted.signal,
    });
    if (claim) {
      // Read means delivered: the cursor moves only once the whole response was written. A crash
      // in between brings these messages back, unless the next listen echoes this response's cursor.
      reply.raw.once('finish', () => {
        claim
          .commit()
          .catch((error: unknown) => request.log.warn({ err: error }, 'could not mark listened messages read'));
      });
      reply.raw.once('close', () => {
        if (!reply.raw.writableFinished) claim.release();
      });
    }
    return { messages, cursor: encodeCursor(messages) };
  });

  app.post('/conversations', asPartner, async (request) => {
    const id = caller(request);
    const body = parseInput(CreateConversationBody, request.body, 'group');
    return { conversation: await service.conversations.createGroup(id, body.name, body.participants) };
  });

  app.get('/conversations/:partnerId', asPartner, async (request) => {
    const id = callerAs(request, pathParam(request, 'partnerId'));
    return { conversations: await service.conversations.list(id) };
  });

  app.post('/conversations/:id/leave', asPartner, async (request) => {
    const id = caller(request);
    const conversationId = conversationParam(request, id);
    parseInput(EmptyBody, request.body === undefined ? {} : request.body, 'leave body');
    await service.conversations.leave(id, conversationId);
    return { left: true, conversationId };
  });

  app.get('/conversations/:id/messages', asPartner, async (request) => {
    const id = caller(request);
    const conversationId = conversationParam(request, id);
    const query = parseInput(HistoryQuery, request.query, 'history query');
    const limit = query.limit ?? DEFAULT_HISTORY_LIMIT;
    if (limit < 1 || limit > MAX_HISTORY_LIMIT)
      throw new DuoError('bad_request', `limit must be between 1 and ${MAX_HISTORY_LIMIT}.`);
    return service.conversations.history(id, conversationId, { limit, before: query.before });
  });

  app.get('/partners', asPartner, async () => {
    return { partners: await service.presence.listPartners() };
  });

  app.post('/partners/:id/status', asPartner, async (request) => {
    const id = callerAs(request, pathParam(request, 'id'));
    const body = parseInput(StatusBody, request.body === undefined ? {} : request.body, 'status');
    return service.presence.setStatus(id, body.status || null);
  });

  app.post('/partners/:id/notifications', asPartner, async (request) => {
    const id = callerAs(request, pathParam(request, 'id'));
    const body = parseInput(NotificationsBody, request.body, 'notifications setting');
    return service.notices.setEnabled(id, body.enabled);
  });
}
