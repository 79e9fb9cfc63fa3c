/**
 * The /ws endpoint: one JSON text frame per operation, validated with the shared schemas and
 * handed to the same service the REST routes use. Each socket gets a SocketHandler; a socket must
 * say hello within the deadline, and the heartbeat terminates those that stop answering pings.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { RawData, WebSocket } from 'ws';
import { DuoError } from '../shared/errors.ts';
import type { Logger } from '../shared/log.ts';
import {
  ClientFrame,
  CloseCode,
  describeIssues,
  type HelloFrame,
  type ServerFrame,
  type TalkFrame,
} from '../shared/protocol.ts';
import { VERSION } from '../shared/version.ts';
import { toDuoError } from './errors.ts';
import { FrameBudget, refNearStart } from './frame-budget.ts';
import { Heartbeat } from './heartbeat.ts';
import { acceptOldDirectIdIn } from './input.ts';
import type { BrokerMetrics } from './metrics.ts';
import type { RateLimiter } from './rate-limit.ts';
import type { BrokerService } from './service.ts';
import type { Session } from './sessions.ts';

export interface WsDeps {
  service: BrokerService;
  limiter: RateLimiter;
  /** Failed authentications per client address (shared with REST). */
  authFailures: RateLimiter;
  heartbeatMs: number;
  helloTimeoutMs: number;
  metrics: Pick<BrokerMetrics, 'stored' | 'authFailure'>;
}

type AckFrame = Extract<ClientFrame, { type: 'ack' }>;
type ResumeFrame = Extract<ClientFrame, { type: 'resume' }>;

export async function registerWebSocket(app: FastifyInstance, deps: WsDeps): Promise<void> {
  const heartbeat = new Heartbeat<WebSocket>(deps.heartbeatMs);

  app.addHook('onClose', async () => {
    heartbeat.stop();
    for (const socket of heartbeat.sockets()) socket.close(CloseCode.goingAway, 'broker shutting down');
  });

  // A plain HTTP GET (no upgrade) gets a JSON error like every other refusal.
  async function notWebSocket(): Promise<never> {
    throw new DuoError(
      'bad_request',
      'This endpoint speaks WebSocket only: connect with a WebSocket client to ws://<broker>/ws.',
    );
  }
  function onSocket(socket: WebSocket, request: FastifyRequest): void {
    new SocketHandler(socket, request.ip, deps, heartbeat, app.log);
  }
  app.route({ method: 'GET', url: '/ws', handler: notWebSocket, wsHandler: onSocket });
}

/**
 * One socket's conversation with the broker. Before hello, any bad frame ends the socket (it is
 * not a client we know how to talk to); after it, a bad frame gets an error frame carrying its
 * `ref` and the socket stays open.
 */
class SocketHandler {
  private session: Session | undefined;
  /** Frames that arrived after hello but before welcome: handled once the session exists. */
  private early: string[] | undefined;
  private readonly budget: FrameBudget;
  private readonly helloDeadline: NodeJS.Timeout;

  constructor(
    private readonly socket: WebSocket,
    /** The client's address, for counting failed hellos. */
    private readonly address: string,
    private readonly deps: WsDeps,
    private readonly heartbeat: Heartbeat<WebSocket>,
    private readonly log: Logger,
  ) {
    heartbeat.add(socket);
    this.budget = new FrameBudget(deps.limiter);
    this.helloDeadline = setTimeout(() => this.onHelloTimeout(), deps.helloTimeoutMs);
    socket.on('message', (data, isBinary) => this.onMessage(data, isBinary));
    socket.on('ping', (data) => this.onPing(data));
    socket.on('pong', () => this.onPong());
    socket.on('close', () => this.onClose());
    socket.on('error', (error) => this.onError(error));
  }

  // ---------------------------------------------------------------- socket events

  private onMessage(data: RawData, isBinary: boolean): void {
    // After a close was sent the peer may still be sending; none of it is handled.
    if (this.socket.readyState !== this.socket.OPEN) return;
    // Counted before decoding, so a flood of invalid frames is refused as cheaply as valid ones.
    const verdict = this.budget.take();
    if (!verdict.allowed) {
      if (verdict.close) this.socket.close(CloseCode.rateLimited, 'too many frames');
      else
        this.fail(
          new DuoError('rate_limited', `Too many frames; wait ${verdict.wait} s and retry.`, {
            retryAfter: verdict.wait,
          }),
          refNearStart(data),
        );
      return;
    }
    this.heartbeat.seen(this.socket);
    if (isBinary) {
      this.socket.close(CloseCode.unsupportedData, 'binary frames are not supported; send JSON text');
      return;
    }
    const text = data.toString();
    if (this.early) this.early.push(text);
    else this.handleFrame(text);
  }

  /** Pings are answered by hand (automatic pongs are off) so that they count like frames. */
  private onPing(data: Buffer): void {
    if (this.socket.readyState !== this.socket.OPEN) return;
    const verdict = this.budget.take();
    if (verdict.allowed) {
      this.heartbeat.seen(this.socket);
      this.socket.pong(data);
    } else if (verdict.close) this.socket.close(CloseCode.rateLimited, 'too many pings');
  }

  private onPong(): void {
    this.heartbeat.seen(this.socket);
  }

  private onClose(): void {
    clearTimeout(this.helloDeadline);
    this.heartbeat.remove(this.socket);
    if (this.session) void this.deps.service.lifecycle.detach(this.session);
  }

  private onError(error: Error): void {
    this.log.debug({ err: error }, 'websocket error');
  }

  private onHelloTimeout(): void {
    this.socket.close(CloseCode.helloTimeout, 'no hello in time');
  }

  // ---------------------------------------------------------------- frames

  private handleFrame(text: string): void {
    let raw: unknown;
    try {
      raw = JSON.parse(text);
    } catch {
      return this.refuse(
        new DuoError('invalid_json', 'That frame is not valid JSON; every frame is one JSON object with a "type".'),
      );
    }
    const ref = typeof (raw as { ref?: unknown })?.ref === 'string' ? (raw as { ref: string }).ref : undefined;
    const session = this.session;
    const parsed = ClientFrame.safeParse(session ? acceptOldDirectIdIn(raw, session.partnerId) : raw);
    if (!parsed.success) {
      return this.refuse(
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
        return this.refuse(
          new DuoError('unauthorized', 'Say hello first: {"type":"hello","partnerId":"…","secret":"…","since":0}.'),
          ref,
        );
      }
      return this.handleHello(frame);
    }
    switch (frame.type) {
      case 'hello':
        return this.fail(
          new DuoError('conflict', 'This socket already said hello; open a new socket to change identity.'),
          ref,
        );
      case 'talk':
        return this.handleTalk(session, frame);
      case 'ack':
        return this.handleAck(session, frame);
      case 'pause':
        return session.pause();
      case 'resume':
        return this.handleResume(session, frame);
    }
  }

  private handleHello(frame: HelloFrame): void {
    const { service } = this.deps;
    this.early = [];
    service.auth
      .authenticateAs(frame.partnerId, frame.secret)
      .then(async (partner) => {
        clearTimeout(this.helloDeadline);
        if (this.socket.readyState !== this.socket.OPEN) return;
        const session = service.lifecycle.open(partner, this.socket, frame.since);
        this.session = session;
        this.budget.identify(partner.id);
        this.send({
          type: 'welcome',
          partnerId: partner.id,
          name: partner.name,
          version: VERSION,
          heartbeatMs: this.deps.heartbeatMs,
        });
        const queued = this.early ?? [];
        this.early = undefined;
        for (const next of queued) this.handleFrame(next);
        await session.replay();
      })
      .catch((error: unknown) => this.onHelloRefused(error));
  }

  /** A wrong secret is final, unless this address keeps trying; a storage hiccup is worth another try. */
  private onHelloRefused(error: unknown): void {
    if (toDuoError(error).code !== 'unauthorized') {
      this.fail(error);
      this.socket.close(CloseCode.tryAgainLater, 'hello failed; retry');
      return;
    }
    // A hello always carries a secret (its schema requires one): this one is wrong.
    this.deps.metrics.authFailure('wrong_secret');
    const wait = this.deps.authFailures.take(this.address);
    if (wait === 0) {
      this.fail(error);
      this.socket.close(CloseCode.unauthorized, 'hello refused');
      return;
    }
    this.fail(
      new DuoError('rate_limited', `Too many attempts with a wrong secret from this address; wait ${wait} s.`, {
        retryAfter: wait,
      }),
    );
    this.socket.close(CloseCode.rateLimited, 'too many failed hellos');
  }

  private handleTalk(session: Session, frame: TalkFrame): void {
    const { ref, content, to, conversationId, clientMsgId } = frame;
    this.deps.service.writes
      .talk(session.partnerId, { content, to, conversationId, clientMsgId })
      .then((reply) => {
        if (!reply.duplicate) this.deps.metrics.stored('ws');
        this.send({ type: 'sent', ...withRef(ref), ...reply });
      })
      .catch((error: unknown) => this.fail(error, ref));
  }

  private handleAck(session: Session, frame: AckFrame): void {
    this.deps.service.writes
      .ack(session.partnerId, frame.conversationId, frame.upTo)
      .catch((error: unknown) => this.fail(error, frame.ref));
  }

  private handleResume(session: Session, frame: ResumeFrame): void {
    session.resume(frame.since);
    // Sent before the pump's first page (which waits for a read): frames after it are new.
    this.send({ type: 'resumed', ...withRef(frame.ref), since: frame.since });
  }

  // ---------------------------------------------------------------- replies

  private send(frame: ServerFrame): void {
    this.socket.send(JSON.stringify(frame));
  }

  private fail(error: unknown, ref?: string): void {
    const duo = toDuoError(error);
    if (duo.code === 'internal') this.log.error({ err: error }, 'websocket operation failed');
    this.send({ type: 'error', ...withRef(ref), code: duo.code, error: duo.message });
  }

  /** Before hello, a bad frame ends the socket. */
  private refuse(error: DuoError, ref?: string): void {
    this.fail(error, ref);
    if (!this.session) this.socket.close(CloseCode.unauthorized, 'expected a valid hello');
  }
}

function withRef(ref: string | undefined): { ref?: string } {
  return ref === undefined ? {} : { ref };
}
