/**
 * A send whose reply never came back (the broker stored it, the answer was lost) must not be
 * stored twice when the model calls talk again with the same message.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { afterEach, expect, it } from 'vitest';
import { startBroker, type TestBroker } from '../helpers/broker.ts';
import { api, register } from '../helpers/clients.ts';
import { startPartner, waitUntil, type TestPartner } from '../helpers/mcp-partner.ts';
import { ownerTokenFileFor, rememberOwnerTokenFile } from '../helpers/owner-tokens.ts';

let broker: TestBroker;
let proxy: Server;
let partner: TestPartner;

afterEach(async () => {
  await partner?.close();
  proxy?.closeAllConnections();
  await new Promise((resolve) => proxy?.close(resolve));
  await broker?.close();
});

/**
 * An HTTP proxy in front of the broker that refuses WebSocket upgrades (so sends go over REST)
 * and, while `swallow` is set, forwards POST /talk but never answers it.
 */
async function lossyProxy(target: string): Promise<{ url: string; swallow: { on: boolean } }> {
  const swallow = { on: false };
  proxy = createServer(async (req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const headers: Record<string, string> = {};
    for (const name of ['authorization', 'content-type', 'x-duo-token'])
      if (req.headers[name]) headers[name] = String(req.headers[name]);
    const upstream = await fetch(`${target}${req.url}`, {
      method: req.method!,
      headers,
      ...(chunks.length > 0 ? { body: Buffer.concat(chunks) } : {}),
    });
    const body = await upstream.text();
    if (swallow.on && req.url === '/talk') return; // stored upstream; the answer is lost
    res.writeHead(upstream.status, { 'content-type': 'application/json' }).end(body);
  });
  proxy.on('upgrade', (_req, socket) => socket.destroy());
  await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
  const address = proxy.address();
  return { url: `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`, swallow };
}

it('reuses the clientMsgId when the model retries a send whose outcome was unknown', async () => {
  broker = await startBroker();
  const bob = await register(broker.url, 'bob');
  const { url, swallow } = await lossyProxy(broker.url);
  // The partner reaches the broker through the proxy; it is the same user's broker.
  rememberOwnerTokenFile(url, ownerTokenFileFor(broker.url)!);
  partner = await startPartner(url, { partnerId: 'alice', ready: false, overrides: { requestTimeoutMs: 500 } });
  await waitUntil(() => partner.partner.identity !== undefined, 5_000, 'registration');

  swallow.on = true;
  const lost = await partner.call('talk', { message: 'deploy is done', to: 'bob' });
  expect(lost.isError).toBe(true);
  expect(lost.text).toMatch(/safe: it will not be sent twice/);

  swallow.on = false;
  const retried = await partner.call('talk', { message: 'deploy is done', to: 'bob' });
  expect(retried.isError).toBe(false);
  expect(retried.text).toContain('already stored earlier');

  const fresh = await partner.call('talk', { message: 'deploy is done', to: 'bob' });
  expect(fresh.text).not.toContain('already stored earlier');

  const history = await api(broker.url, 'GET', '/conversations/direct:alice:bob/messages', { secret: bob.secret });
  expect(history.body.messages.map((m: { content: string }) => m.content)).toEqual([
    'deploy is done',
    'deploy is done',
  ]);
});
