/**
 * Follows the broker's read-only watch stream with the owner token: every committed message in
 * id order, presence and holds. When the connection drops it reconnects with `since` set to the
 * highest message id it saw, so the broker replays what was missed; `onDown` and `onUp` say when
 * the broker went away and came back. With several brokers in BROKER_URL, a connection that fails
 * moves on to the next one (a first connection tries each once). The first connection's failure
 * (no broker, wrong token) rejects `started` with a DuoError that says what to do.
 */
import WebSocket from 'ws';
import { WatchFrame, type WatchingFrame } from '../shared/console-protocol.ts';
import { codeForStatus, DuoError, isErrorCode } from '../shared/errors.ts';
import { ErrorReply } from '../shared/protocol.ts';
import { brokerEndpoint, type BrokerEndpoint } from './endpoint.ts';
import { tokenStaysHome, type OwnerAccess } from './owner.ts';
import { unreachable } from './broker-http.ts';

export interface WatchHandlers {
  frame(frame: WatchFrame): void;
  onDown(error: DuoError): void;
  onUp(): void;
}

export class WatchClient {
  /** Resolves with the first `watching` frame, or rejects when the first connection fails. */
  readonly started: Promise<WatchingFrame>;
  private highest: number | undefined;
  private socket: WebSocket | undefined;
  private stopped = false;
  private everOpen = false;
  private down = false;
  /** Connections tried before the first one opened. */
  private firstTries = 0;
  private readonly endpoint: BrokerEndpoint;
  private resolveStart!: (frame: WatchingFrame) => void;
  private rejectStart!: (error: DuoError) => void;

  constructor(
    brokerUrl: string,
    access: OwnerAccess,
    private readonly handlers: WatchHandlers,
    private readonly reconnectMs = 1_000,
    /** Replay from this message id on the first connection too (a backlog). */
    since?: number,
  ) {
    this.highest = since;
    this.endpoint = brokerEndpoint({ brokerUrl, ...access });
    this.started = new Promise((resolve, reject) => {
      this.resolveStart = resolve;
      this.rejectStart = reject;
    });
    // A rejection nobody awaits (a later failure) must not crash the process.
    this.started.catch(() => undefined);
    this.connect();
  }

  stop(): void {
    this.stopped = true;
    this.socket?.close();
  }

  private connect(): void {
    if (this.stopped) return;
    const query = this.highest === undefined ? '' : `?since=${this.highest}`;
    const brokerUrl = this.endpoint.url;
    const url = `${brokerUrl.replace(/^http/, 'ws')}/watch${query}`;
    const headers = this.endpoint.headers(brokerUrl);
    if (!this.everOpen && Object.keys(headers).length === 0) {
      this.stopped = true;
      this.rejectStart(tokenStaysHome(brokerUrl));
      return;
    }
    const socket = new WebSocket(url, { headers, handshakeTimeout: 5_000 });
    if (!this.everOpen) this.firstTries++;
    this.socket = socket;
    let finished = false;
    const finish = (refusal?: DuoError) => {
      if (finished) return;
      finished = true;
      if (this.socket === socket) this.socket = undefined;
      const error = refusal ?? unreachable(brokerUrl);
      if (!refusal) this.endpoint.failed(brokerUrl);
      if (!this.everOpen && !refusal && this.firstTries < this.endpoint.urls.length) {
        this.connect();
        return;
      }
      if (!this.everOpen) {
        this.stopped = true;
        this.rejectStart(error);
        return;
      }
      if (this.stopped) return;
      if (!this.down) this.handlers.onDown(error);
      this.down = true;
      setTimeout(() => this.connect(), this.reconnectMs);
    };
    socket.on('unexpected-response', (request, response) => {
      let text = '';
      response.on('data', (chunk: Buffer) => (text += chunk.toString()));
      response.on('end', () => {
        request.destroy();
        finish(refusalError(response.statusCode ?? 0, text, brokerUrl));
      });
    });
    socket.on('message', (data) => this.onMessage(data.toString()));
    socket.on('error', () => undefined);
    socket.once('close', () => finish());
  }

  private onMessage(text: string): void {
    let frame: WatchFrame;
    try {
      frame = WatchFrame.parse(JSON.parse(text));
    } catch {
      return;
    }
    if (frame.type === 'watching') {
      if (!this.everOpen) this.resolveStart(frame);
      this.everOpen = true;
      if (this.down) this.handlers.onUp();
      this.down = false;
      this.highest ??= frame.upTo;
      // A first replay that starts from an old `since` is remembered from where it really starts.
      if (this.highest < frame.replayFrom) this.highest = frame.replayFrom;
    }
    if (frame.type === 'message') this.highest = Math.max(this.highest ?? 0, frame.message.id);
    this.handlers.frame(frame);
  }
}

function refusalError(status: number, text: string, brokerUrl: string): DuoError {
  try {
    const reply = ErrorReply.parse(JSON.parse(text));
    return new DuoError(isErrorCode(reply.code) ? reply.code : codeForStatus(status), reply.error);
  } catch {
    return new DuoError(codeForStatus(status), `The broker at ${brokerUrl} refused the watch stream (HTTP ${status}).`);
  }
}
