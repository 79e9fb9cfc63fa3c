/**
 * The raw WebSocket relay behind three anchors: the plain relay (producer → server → consumer),
 * the fan-out 1→N (a group's members are whoever POST /conversations named), and, with a
 * database, the persisted-relay floor, which commits one row in better-sqlite3 (WAL,
 * synchronous=FULL, the broker's setting) before it forwards. It speaks just enough of the Duo
 * frames for the bench client: hello → welcome, talk → message + sent; ack is ignored.
 */
import { createServer } from 'node:http';
import { WebSocketServer, type WebSocket } from 'ws';
import { directConversationId } from '../../src/shared/ids.ts';
import type { ClientFrame, ConversationSummary, Message } from '../../src/shared/protocol.ts';
import {
  exitOnSignal,
  handleCommonRoute,
  openMessagesTable,
  readJson,
  sendJson,
  sentFrame,
  welcomeFrame,
  type AnchorArgs,
} from './common.ts';

interface Store {
  /** Commits the message and returns its id. */
  insert(conversationId: string, from: string, content: string, createdAt: string): number;
  close(): void;
}

function memoryStore(): Store {
  let lastId = 0;
  return { insert: () => ++lastId, close: () => {} };
}

export function startRelay(args: AnchorArgs): void {
  const store = args.db === undefined ? memoryStore() : openMessagesTable(args.db);
  const sockets = new Map<string, WebSocket>();
  const groups = new Map<string, string[]>();
  let groupCount = 0;

  const http = createServer((req, res) => {
    void (async () => {
      if (await handleCommonRoute(req, res)) return;
      if (req.method === 'POST' && req.url === '/conversations') {
        const body = await readJson(req);
        const members = body.participants as string[];
        const id = `group_anchor${String(++groupCount).padStart(6, '0')}`;
        groups.set(id, members);
        const conversation: ConversationSummary = {
          id,
          kind: 'group',
          name: String(body.name),
          members,
          unread: 0,
          lastMessageId: null,
          lastMessageAt: null,
          held: false,
        };
        sendJson(res, 200, { conversation });
        return;
      }
      sendJson(res, 404, { error: 'not here', code: 'not_found' });
    })().catch((error: unknown) => sendJson(res, 500, { error: String(error), code: 'internal' }));
  });

  const wss = new WebSocketServer({ server: http, path: '/ws' });
  const alive = new WeakSet<WebSocket>();

  wss.on('connection', (ws) => {
    let partnerId: string | undefined;
    alive.add(ws);
    ws.on('pong', () => alive.add(ws));
    ws.on('message', (data) => {
      const frame = JSON.parse(data.toString()) as ClientFrame;
      if (frame.type === 'hello') {
        partnerId = frame.partnerId;
        sockets.set(partnerId, ws);
        ws.send(welcomeFrame(partnerId, args.heartbeatMs));
        return;
      }
      if (frame.type !== 'talk' || partnerId === undefined) return;
      const conversationId = frame.to !== undefined ? directConversationId(partnerId, frame.to) : frame.conversationId!;
      const recipients = frame.to !== undefined ? [frame.to] : (groups.get(conversationId) ?? []);
      const createdAt = new Date().toISOString();
      const id = store.insert(conversationId, partnerId, frame.content, createdAt);
      const message: Message = { id, conversationId, from: partnerId, content: frame.content, createdAt };
      const push = JSON.stringify({ type: 'message', message });
      for (const recipient of recipients) {
        if (recipient !== partnerId) sockets.get(recipient)?.send(push);
      }
      ws.send(sentFrame(frame.ref, message));
    });
    ws.on('close', () => {
      if (partnerId !== undefined && sockets.get(partnerId) === ws) sockets.delete(partnerId);
    });
  });

  // The heartbeat from the ws README: one sweep pings every socket and drops those that never ponged.
  if (args.heartbeatMs > 0) {
    setInterval(() => {
      for (const ws of wss.clients) {
        if (!alive.has(ws)) {
          ws.terminate();
          continue;
        }
        alive.delete(ws);
        ws.ping();
      }
    }, args.heartbeatMs).unref();
  }

  http.listen(args.port, '127.0.0.1');
  exitOnSignal(() => {
    wss.close();
    http.close();
    store.close();
  });
}
