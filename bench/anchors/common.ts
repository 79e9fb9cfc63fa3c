/**
 * What every anchor server shares: argument parsing, JSON bodies, and the few REST routes the
 * bench client calls on any server (/health, /register). Anchors are deliberately naive: no
 * validation, no auth, no limits. They are the floor our broker is compared against.
 */
import Database from 'better-sqlite3';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { parseArgs } from 'node:util';
import type { Message, RegisterReply } from '../../src/shared/protocol.ts';

export interface AnchorArgs {
  port: number;
  db: string | undefined;
  heartbeatMs: number;
}

export function anchorArgs(): AnchorArgs {
  const { values } = parseArgs({
    options: {
      port: { type: 'string' },
      db: { type: 'string' },
      'heartbeat-ms': { type: 'string', default: '0' },
    },
  });
  const port = Number(values.port);
  if (!Number.isInteger(port) || port <= 0) throw new Error('anchor: --port is required');
  return { port, db: values.db, heartbeatMs: Number(values['heartbeat-ms']) };
}

export function readJson(req: IncomingMessage): Promise<Record<string, unknown>> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.once('end', () => {
      try {
        resolve(
          chunks.length === 0 ? {} : (JSON.parse(Buffer.concat(chunks).toString('utf8')) as Record<string, unknown>),
        );
      } catch (error) {
        reject(error as Error);
      }
    });
    req.once('error', reject);
  });
}

export function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

/** Answers /health and /register; returns false for anything else. */
export async function handleCommonRoute(req: IncomingMessage, res: ServerResponse): Promise<boolean> {
  if (req.method === 'GET' && req.url === '/health') {
    sendJson(res, 200, { ok: true, version: 'anchor', uptimeSeconds: process.uptime() });
    return true;
  }
  if (req.method === 'POST' && req.url === '/register') {
    const body = await readJson(req);
    const partnerId = String(body.partnerId);
    // No secrets here: the "secret" is the id itself, so a Bearer header tells an anchor who is calling.
    const reply: RegisterReply = { partnerId, name: partnerId, created: true, secret: partnerId };
    sendJson(res, 200, reply);
    return true;
  }
  return false;
}

/** The `welcome` frame every anchor answers `hello` with. */
export function welcomeFrame(partnerId: string, heartbeatMs: number): string {
  return JSON.stringify({ type: 'welcome', partnerId, name: partnerId, version: 'anchor', heartbeatMs });
}

/** The `sent` frame that tells the sender its message is committed. */
export function sentFrame(ref: string | undefined, message: Message): string {
  const { id: messageId, conversationId, createdAt } = message;
  return JSON.stringify({ type: 'sent', ref, messageId, conversationId, createdAt, duplicate: false });
}

/** Exit cleanly on SIGTERM so the harness sees a normal end (and --cpu-prof could be written). */
export function exitOnSignal(close: () => void): void {
  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    process.once(signal, () => {
      close();
      process.exit(0);
    });
  }
}

/**
 * A messages table at the broker's durability setting (WAL, synchronous=FULL), with a prepared
 * one-row insert that commits on its own: what the SQLite anchors measure.
 */
export function openMessagesTable(path: string): {
  insert(conversationId: string, from: string, content: string, createdAt: string): number;
  close(): void;
} {
  const db = new Database(path);
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = FULL');
  db.exec(`CREATE TABLE IF NOT EXISTS messages (
    id INTEGER PRIMARY KEY,
    conversation_id TEXT NOT NULL,
    sender TEXT NOT NULL,
    content TEXT NOT NULL,
    created_at TEXT NOT NULL
  )`);
  const insert = db.prepare('INSERT INTO messages (conversation_id, sender, content, created_at) VALUES (?, ?, ?, ?)');
  return {
    insert: (conversationId, from, content, createdAt) =>
      Number(insert.run(conversationId, from, content, createdAt).lastInsertRowid),
    close: () => db.close(),
  };
}
