/**
 * Anchor: the PostgreSQL floor, the least a relay backed by PostgreSQL can do per message. Raw
 * `ws`; per talk, one transaction on a pooled connection (INSERT … RETURNING id, then pg_notify of
 * the message), `sent` once it committed; a dedicated LISTEN connection forwards each notification
 * to the recipient's socket. So every delivery crosses PostgreSQL twice, as a message between two
 * brokers of one database must. The payload carries the message itself (the bench's messages are
 * far below NOTIFY's 8000-byte limit), so forwarding reads nothing back.
 * Direct messages only. Run: node --import tsx bench/anchors/pg-floor.ts --port N --db postgres://…
 */
import { createServer } from 'node:http';
import pg from 'pg';
import { WebSocketServer, type WebSocket } from 'ws';
import { directConversationId } from '../../src/shared/ids.ts';
import type { ClientFrame, Message } from '../../src/shared/protocol.ts';
import { anchorArgs, exitOnSignal, handleCommonRoute, sendJson, sentFrame, welcomeFrame } from './common.ts';

const CHANNEL = 'bench_floor';

/** What one notification carries: the message and who gets it. */
interface Delivery {
  to: string;
  message: Message;
}

const args = anchorArgs();
if (args.db === undefined) throw new Error('pg-floor: --db postgres://… is required');
const url = args.db;

const pool = new pg.Pool({ connectionString: url, max: 4 });
const listener = new pg.Client({ connectionString: url });
// A floor that lost its database cannot deliver: end, so the harness reports the failure.
const fail = (error: Error) => {
  console.error(`pg-floor: ${error.message}`);
  process.exit(1);
};
pool.on('error', fail);
listener.on('error', fail);
await pool.query(`create table if not exists messages (
  id bigserial primary key,
  conversation_id text not null,
  sender text not null,
  content text not null,
  created_at text not null
)`);
await listener.connect();
await listener.query(`listen ${CHANNEL}`);

const sockets = new Map<string, WebSocket>();

listener.on('notification', (notification) => {
  const { to, message } = JSON.parse(notification.payload!) as Delivery;
  sockets.get(to)?.send(JSON.stringify({ type: 'message', message }));
});

/** Commits the message and its notification in one transaction; returns it with its id. */
async function commit(from: string, to: string, content: string): Promise<Message> {
  const conversationId = directConversationId(from, to);
  const createdAt = new Date().toISOString();
  const client = await pool.connect();
  try {
    await client.query('begin');
    const { rows } = await client.query<{ id: string }>(
      'insert into messages (conversation_id, sender, content, created_at) values ($1, $2, $3, $4) returning id',
      [conversationId, from, content, createdAt],
    );
    const message: Message = { id: Number(rows[0]!.id), conversationId, from, content, createdAt };
    await client.query('select pg_notify($1, $2)', [CHANNEL, JSON.stringify({ to, message } satisfies Delivery)]);
    await client.query('commit');
    return message;
  } catch (error) {
    await client.query('rollback').catch(() => {});
    throw error;
  } finally {
    client.release();
  }
}

const http = createServer((req, res) => {
  void handleCommonRoute(req, res)
    .then((handled) => {
      if (!handled) sendJson(res, 404, { error: 'not here', code: 'not_found' });
    })
    .catch((error: unknown) => sendJson(res, 500, { error: String(error), code: 'internal' }));
});

const wss = new WebSocketServer({ server: http, path: '/ws' });
wss.on('connection', (ws) => {
  let partnerId: string | undefined;
  ws.on('message', (data) => {
    const frame = JSON.parse(data.toString()) as ClientFrame;
    if (frame.type === 'hello') {
      partnerId = frame.partnerId;
      sockets.set(partnerId, ws);
      ws.send(welcomeFrame(partnerId, args.heartbeatMs));
      return;
    }
    if (frame.type !== 'talk' || partnerId === undefined || frame.to === undefined) return;
    commit(partnerId, frame.to, frame.content).then(
      (message) => ws.send(sentFrame(frame.ref, message)),
      (error: unknown) =>
        ws.send(JSON.stringify({ type: 'error', ref: frame.ref, code: 'internal', error: String(error) })),
    );
  });
  ws.on('close', () => {
    if (partnerId !== undefined && sockets.get(partnerId) === ws) sockets.delete(partnerId);
  });
});

http.listen(args.port, '127.0.0.1');
exitOnSignal(() => {
  wss.close();
  http.close();
  void listener.end();
  void pool.end();
});
