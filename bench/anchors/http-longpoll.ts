/**
 * Anchor: raw HTTP long-poll relay on node:http. POST /talk queues the message for its recipient
 * and answers a parked GET /listen/:id at once; GET /listen/:id answers what is queued or parks
 * until a message or the timeout. Same paths and shapes as the broker's REST, no auth, nothing
 * persisted. Run: node --import tsx bench/anchors/http-longpoll.ts --port N
 */
import { createServer, type ServerResponse } from 'node:http';
import { directConversationId } from '../../src/shared/ids.ts';
import type { ListenReply, Message, TalkReply } from '../../src/shared/protocol.ts';
import { anchorArgs, exitOnSignal, handleCommonRoute, readJson, sendJson } from './common.ts';

interface Waiter {
  res: ServerResponse;
  timer: NodeJS.Timeout;
}

const args = anchorArgs();
const queues = new Map<string, Message[]>();
const waiters = new Map<string, Waiter>();
let lastId = 0;

function answer(partnerId: string, waiter: Waiter): void {
  clearTimeout(waiter.timer);
  waiters.delete(partnerId);
  const messages = queues.get(partnerId) ?? [];
  queues.delete(partnerId);
  const reply: ListenReply = { messages, cursor: '' };
  sendJson(waiter.res, 200, reply);
}

function bearer(header: string | undefined): string {
  return (header ?? '').replace(/^Bearer\s+/i, '');
}

const server = createServer((req, res) => {
  void (async () => {
    if (await handleCommonRoute(req, res)) return;
    const url = new URL(req.url ?? '/', 'http://anchor');
    if (req.method === 'POST' && url.pathname === '/talk') {
      const body = await readJson(req);
      const from = bearer(req.headers.authorization);
      const to = String(body.to);
      const createdAt = new Date().toISOString();
      const message: Message = {
        id: ++lastId,
        conversationId: directConversationId(from, to),
        from,
        content: String(body.content),
        createdAt,
      };
      const queue = queues.get(to);
      if (queue) queue.push(message);
      else queues.set(to, [message]);
      const waiter = waiters.get(to);
      if (waiter) answer(to, waiter);
      const reply: TalkReply = {
        messageId: message.id,
        conversationId: message.conversationId,
        createdAt,
        duplicate: false,
      };
      sendJson(res, 200, reply);
      return;
    }
    const listen = /^\/listen\/([^/]+)$/.exec(url.pathname);
    if (req.method === 'GET' && listen) {
      const partnerId = decodeURIComponent(listen[1]!);
      const timeoutSeconds = Number(url.searchParams.get('timeout') ?? '30');
      const waiter: Waiter = { res, timer: setTimeout(() => answer(partnerId, waiter), timeoutSeconds * 1000) };
      const previous = waiters.get(partnerId);
      if (previous) answer(partnerId, previous);
      if ((queues.get(partnerId)?.length ?? 0) > 0) {
        answer(partnerId, waiter);
        return;
      }
      waiters.set(partnerId, waiter);
      res.once('close', () => {
        if (waiters.get(partnerId) === waiter) {
          clearTimeout(waiter.timer);
          waiters.delete(partnerId);
        }
      });
      return;
    }
    sendJson(res, 404, { error: 'not here', code: 'not_found' });
  })().catch((error: unknown) => sendJson(res, 500, { error: String(error), code: 'internal' }));
});

server.listen(args.port, '127.0.0.1');
exitOnSignal(() => server.close());
