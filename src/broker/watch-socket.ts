/**
 * `/watch`: the read-only WebSocket stream for the human (the web console with its session
 * cookie, `duo tail` with the owner token). It sends every committed message of every
 * conversation in id order, presence changes and loop-guard holds. It never moves a read
 * cursor, never claims a message and never opens a partner session, so agents are not affected
 * by anyone watching.
 *
 * `?since=<id>` replays what was committed above that id (at most MAX_REPLAY messages) before
 * the live messages, so a watcher that reconnects misses nothing; the `watching` frame says
 * where the replay starts.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { WebSocket } from 'ws';
import { WatchQuery, type LoopGuardSetting, type WatchFrame, type WatchingFrame } from '../shared/console-protocol.ts';
import { DuoError } from '../shared/errors.ts';
import { CloseCode, type Message } from '../shared/protocol.ts';
import { parseInput } from './input.ts';
import type { WatchEvent, WatchHub, WatchSink } from './watch-hub.ts';

/** The most messages a reconnecting watcher is sent again; older ones are for `duo history`. */
export const MAX_REPLAY = 1000;
const REPLAY_PAGE = 250;
/** A watcher this far behind (unsent bytes) is closed; it reconnects with `since` and catches up. */
const MAX_BUFFERED_BYTES = 4 * 1024 * 1024;
/** Presence and hold frames kept while the first frame is being prepared. */
const MAX_EARLY_EVENTS = 100;

export interface WatchDeps {
  hub: WatchHub;
  heartbeatMs: number;
  loopGuard: LoopGuardSetting;
  /**
   * Throws unless the request carries the owner token or a console session; returns the console
   * session of a console watcher (undefined for the owner token).
   */
  authorize(request: FastifyRequest): Promise<ConsoleViewer | undefined>;
  /** Counts the human as online until the returned function is called. */
  keepOnline(partnerId: string): () => void;
  newestMessageId(): Promise<number>;
  messagesAfter(afterId: number, limit: number): Promise<Message[]>;
}

/** Who watches from a console. */
export interface ConsoleViewer {
  /** The console session's id (its token hash): logging out closes its sockets. */
  sessionId: string;
  /** The human logged in: online while one of its consoles watches. */
  partnerId: string;
}

export interface WatchSockets {
  /** Closes every watch socket opened with the console session `sessionId`. */
  closeSession(sessionId: string): void;
}

export async function registerWatch(app: FastifyInstance, deps: WatchDeps): Promise<WatchSockets> {
  const alive = new Map<WebSocket, boolean>();
  const viewerOf = new WeakMap<FastifyRequest, ConsoleViewer>();
  const bySession = new Map<string, Set<WebSocket>>();
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

  app.route({
    method: 'GET',
    url: '/watch',
    // Checked before the upgrade, so a refused watcher gets an HTTP error with the usual envelope.
    preValidation: async (request) => {
      parseInput(WatchQuery, request.query, 'watch query');
      const viewer = await deps.authorize(request);
      if (viewer !== undefined) viewerOf.set(request, viewer);
    },
    handler: async () => {
      throw new DuoError('bad_request', 'This endpoint speaks WebSocket only: connect to ws://<broker>/watch.');
    },
    wsHandler: (socket, request) => {
      const { since } = WatchQuery.parse(request.query);
      const session = new WatchSession(socket, deps.messagesAfter, (error) =>
        request.log.warn({ err: error }, 'watch replay failed'),
      );
      const remove = deps.hub.add(session);
      const viewer = viewerOf.get(request);
      const sessionId = viewer?.sessionId;
      const sockets = sessionId === undefined ? undefined : (bySession.get(sessionId) ?? new Set<WebSocket>());
      if (sessionId !== undefined && sockets) bySession.set(sessionId, sockets.add(socket));
      // A console that is open shows its human online to the agents; `duo tail` (the owner token) does not.
      const leave = viewer === undefined ? undefined : deps.keepOnline(viewer.partnerId);
      alive.set(socket, true);
      socket.on('pong', () => alive.set(socket, true));
      socket.on('message', () => alive.set(socket, true));
      socket.on('error', (error) => request.log.debug({ err: error }, 'watch socket error'));
      socket.on('close', () => {
        alive.delete(socket);
        sockets?.delete(socket);
        if (sessionId !== undefined && sockets?.size === 0) bySession.delete(sessionId);
        remove();
        leave?.();
        session.ended();
      });
      deps.newestMessageId().then(
        (upTo) => {
          const from = since === undefined ? upTo : Math.min(since, upTo);
          session.start({
            type: 'watching',
            upTo,
            replayFrom: Math.max(from, upTo - MAX_REPLAY),
            heartbeatMs: deps.heartbeatMs,
            loopGuard: deps.loopGuard,
          });
        },
        (error: unknown) => {
          request.log.warn({ err: error }, 'could not start a watch stream');
          socket.close(CloseCode.tryAgainLater, 'could not start; retry');
        },
      );
    },
  });
  return {
    closeSession(sessionId) {
      for (const socket of bySession.get(sessionId) ?? []) socket.close(CloseCode.sessionEnded, 'logged out');
    },
  };
}

/**
 * One watcher. Messages are sent in id order: live ones at once when caught up, otherwise
 * (replaying, or a message arrived while a page was being read) read again from the store above
 * the last id sent, as a partner session's push does.
 */
export class WatchSession implements WatchSink {
  private sentUpTo = 0;
  private started = false;
  private pumping = false;
  private dirty = false;
  private closed = false;
  private early: WatchEvent[] = [];

  constructor(
    private readonly socket: WebSocket,
    private readonly read: (afterId: number, limit: number) => Promise<Message[]>,
    private readonly onError: (error: unknown) => void,
  ) {}

  start(first: WatchingFrame): void {
    if (this.closed) return;
    this.send(first);
    this.sentUpTo = first.replayFrom;
    this.started = true;
    for (const event of this.early) this.send(event);
    this.early = [];
    this.dirty = true;
    void this.pump();
  }

  message(message: Message): void {
    if (this.closed) return;
    if (!this.started || this.pumping || this.dirty) {
      this.dirty = true;
      if (this.started) void this.pump();
      return;
    }
    if (message.id > this.sentUpTo) this.push(message);
  }

  resync(): void {
    if (this.closed) return;
    this.dirty = true;
    if (this.started) void this.pump();
  }

  event(frame: WatchEvent): void {
    if (this.closed) return;
    if (this.started) this.send(frame);
    else if (this.early.length < MAX_EARLY_EVENTS) this.early.push(frame);
  }

  ended(): void {
    this.closed = true;
  }

  private async pump(): Promise<void> {
    if (this.pumping || this.closed) return;
    this.pumping = true;
    try {
      while (this.dirty && !this.closed) {
        this.dirty = false;
        const page = await this.read(this.sentUpTo, REPLAY_PAGE);
        for (const message of page) if (message.id > this.sentUpTo) this.push(message);
        if (page.length === REPLAY_PAGE) {
          this.dirty = true;
          await new Promise<void>((resolve) => setImmediate(resolve));
        }
      }
    } catch (error) {
      this.onError(error);
      this.close(CloseCode.tryAgainLater, 'the store failed; reconnect with since');
    } finally {
      this.pumping = false;
    }
  }

  private push(message: Message): void {
    this.send({ type: 'message', message });
    this.sentUpTo = message.id;
  }

  private send(frame: WatchFrame): void {
    if (this.closed) return;
    if (this.socket.bufferedAmount > MAX_BUFFERED_BYTES) {
      this.close(CloseCode.tryAgainLater, 'watcher too slow; reconnect with since');
      return;
    }
    this.socket.send(JSON.stringify(frame));
  }

  private close(code: number, reason: string): void {
    this.closed = true;
    this.socket.close(code, reason);
  }
}
