/**
 * The /ws endpoint: one JSON text frame per operation, validated with the shared schemas and
 * handed to the same service the REST routes use. A socket must say hello within the deadline;
 * the heartbeat pings every socket and terminates those that stop answering.
 */
import type { FastifyInstance } from 'fastify';
import type { WebSocket } from 'ws';
import { DuoError } from '../shared/errors.ts';
import { ClientFrame, CloseCode, describeIssues, type ServerFrame } from '../shared/protocol.ts';
import { VERSION } from '../shared/version.ts';
import { toDuoError } from './errors.ts';
import type { RateLimiter } from './rate-limit.ts';
import type { BrokerService } from './service.ts';
import type { Session } from './sessions.ts';

export interface WsDeps {
  service: BrokerService;
  limiter: RateLimiter;
  heartbeatMs: number;
  helloTimeoutMs: number;
}

/** Frames over this many a second past the burst close the socket instead of erroring. */
const ABUSE_STRIKES = 100;

export async function registerWebSocket(app: FastifyInstance, deps: WsDeps): Promise<void> {
  const { service, limiter } = deps;
  const alive = new Map<WebSocket, boolean>();

  // One timer for all sockets: a socket that missed the previous ping is gone.
  const heartbeat = setInterval(() => {
    for (const [socket, answered] of alive) {
      if (!answered) {
        socket.terminate();
        continue;
      }
      alive.set(socket, false);
      socket.ping();
    }
  }, deps.heartbeatMs);
  heartbeat.unref();

  app.addHook('onClose', async () => {
    clearInterval(heartbeat);
    for (const socket of alive.keys()) socket.close(CloseCode.goingAway, 'broker shutting down');
  });

  // A plain HTTP GET (no upgrade) gets a JSON error like every other refusal.
  const notWebSocket = async () => {
    throw new DuoError(
      'bad_request',
      'This endpoint speaks WebSocket only: connect with a WebSocket client to ws://<broker>/ws.',
    );
  };
  app.route({ method: 'GET', url: '/ws', handler: notWebSocket, wsHandler: onSocket });

  function onSocket(socket: WebSocket): void {
    let session: Session | undefined;
    let strikes = 0;
    alive.set(socket, true);

    const send = (frame: ServerFrame) => socket.send(JSON.stringify(frame));
    const fail = (error: unknown, ref?: string) => {
      const duo = toDuoError(error);
      if (duo.code === 'internal') app.log.error({ err: error }, 'websocket operation failed');
      send({ type: 'error', ...(ref === undefined ? {} : { ref }), code: duo.code, error: duo.message });
    };

    /** Before hello, a bad frame ends the socket: it is not a client we know how to talk to. */
    const refuse = (error: DuoError, ref?: string) => {
      fail(error, ref);
      if (!session) socket.close(CloseCode.unauthorized, 'expected a valid hello');
    };

    const helloDeadline = setTimeout(
      () => socket.close(CloseCode.helloTimeout, 'no hello in time'),
      deps.helloTimeoutMs,
    );

    socket.on('pong', () => alive.set(socket, true));
    socket.on('close', () => {
      clearTimeout(helloDeadline);
      alive.delete(socket);
      if (session) void service.detachSession(session);
    });
    socket.on('error', (error) => app.log.debug({ err: error }, 'websocket error'));

    /** Frames that arrived after hello but before welcome: handled once the session exists. */
    let early: string[] | undefined;

    socket.on('message', (data, isBinary) => {
      alive.set(socket, true);
      if (isBinary) {
        socket.close(CloseCode.unsupportedData, 'binary frames are not supported; send JSON text');
        return;
      }
      const text = data.toString();
      if (early) early.push(text);
      else onFrame(text);
    });

    function onFrame(text: string): void {
      let raw: unknown;
      try {
        raw = JSON.parse(text);
      } catch {
        return refuse(
          new DuoError('invalid_json', 'That frame is not valid JSON; every frame is one JSON object with a "type".'),
        );
      }
      const ref = typeof (raw as { ref?: unknown })?.ref === 'string' ? (raw as { ref: string }).ref : undefined;
      const parsed = ClientFrame.safeParse(raw);
      if (!parsed.success) {
        return refuse(
          new DuoError(
            'bad_request',
            `Invalid frame: ${describeIssues(parsed.error)}. Frame types: hello, talk, ack, pause, resume.`,
          ),
          ref,
        );
      }
      const frame = parsed.data;

      if (!session) {
        if (frame.type !== 'hello') {
          return refuse(
            new DuoError('unauthorized', 'Say hello first: {"type":"hello","partnerId":"…","secret":"…","since":0}.'),
            ref,
          );
        }
        early = [];
        service
          .authenticateAs(frame.partnerId, frame.secret)
          .then(async (partner) => {
            clearTimeout(helloDeadline);
            if (socket.readyState !== socket.OPEN) return;
            session = service.openSession(partner, socket, frame.since);
            send({
              type: 'welcome',
              partnerId: partner.id,
              name: partner.name,
              version: VERSION,
              heartbeatMs: deps.heartbeatMs,
            });
            const queued = early ?? [];
            early = undefined;
            for (const next of queued) onFrame(next);
            await session.replay();
          })
          .catch((error: unknown) => {
            fail(error);
            // A wrong secret is final; a storage hiccup is worth another try.
            if (toDuoError(error).code === 'unauthorized') socket.close(CloseCode.unauthorized, 'hello refused');
            else socket.close(CloseCode.tryAgainLater, 'hello failed; retry');
          });
        return;
      }

      const wait = limiter.take(`partner:${session.partnerId}`);
      if (wait > 0) {
        if (++strikes > ABUSE_STRIKES) socket.close(CloseCode.rateLimited, 'too many frames');
        else
          fail(new DuoError('rate_limited', `Too many frames; wait ${wait} s and retry.`, { retryAfter: wait }), ref);
        return;
      }
      strikes = 0;

      const current = session;
      switch (frame.type) {
        case 'hello':
          return fail(
            new DuoError('conflict', 'This socket already said hello; open a new socket to change identity.'),
            ref,
          );
        case 'talk': {
          const { content, to, conversationId, clientMsgId } = frame;
          service
            .talk(current.partnerId, { content, to, conversationId, clientMsgId })
            .then((reply) => send({ type: 'sent', ...(ref === undefined ? {} : { ref }), ...reply }))
            .catch((error: unknown) => fail(error, ref));
          return;
        }
        case 'ack':
          service.ack(current.partnerId, frame.conversationId, frame.upTo).catch((error: unknown) => fail(error, ref));
          return;
        case 'pause':
          current.pause();
          return;
        case 'resume':
          current.resume(frame.since);
          // Sent before the pump's first page (which waits for a read): frames after it are new.
          send({ type: 'resumed', ...(ref === undefined ? {} : { ref }), since: frame.since });
          return;
      }
    }
  }
}
