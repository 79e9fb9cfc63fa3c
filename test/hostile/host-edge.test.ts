/**
 * Host edge cases a DNS-rebinding page or a confused proxy could use: two Host headers, none at
 * all, and a request target in absolute form naming another host. Each is refused, on plain
 * routes, on registration and on the WebSocket upgrade, in the {error, code} envelope.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startBroker, type TestBroker } from '../helpers/broker.ts';
import { api } from '../helpers/clients.ts';
import { rawRequest } from '../helpers/raw-http.ts';

let broker: TestBroker;
beforeEach(async () => {
  broker = await startBroker();
});
afterEach(async () => broker.close());

const upgradeHeaders =
  'Connection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n';
const registerBody = JSON.stringify({ partnerId: 'mallory' });
const registerHeaders = `Content-Type: application/json\r\nContent-Length: ${registerBody.length}\r\n`;

function envelope(body: string): { error: string; code: string } {
  const parsed = JSON.parse(body) as { error: string; code: string };
  expect(typeof parsed.error).toBe('string');
  expect(typeof parsed.code).toBe('string');
  return parsed;
}

describe('Host header edge cases', () => {
  it('refuses two Host headers, localhost first, on health, register and the upgrade', async () => {
    const twoHosts = `Host: localhost:${broker.port}\r\nHost: evil.com\r\n`;
    const requests = [
      `GET /health HTTP/1.1\r\n${twoHosts}Connection: close\r\n\r\n`,
      `POST /register HTTP/1.1\r\n${twoHosts}${registerHeaders}Connection: close\r\n\r\n${registerBody}`,
      `GET /ws HTTP/1.1\r\n${twoHosts}${upgradeHeaders}\r\n`,
    ];
    for (const request of requests) {
      const reply = await rawRequest(broker.port, request);
      expect(reply.status, request.split('\r\n')[0]).toBe(400);
      expect(envelope(reply.body).code).toBe('bad_request');
    }
    // Nothing was created: the id is still free, so registering it now returns a new secret.
    const fresh = await api(broker.url, 'POST', '/register', { body: { partnerId: 'mallory' } });
    expect(fresh.status).toBe(200);
    expect(fresh.body.secret).toEqual(expect.any(String));
  });

  it('answers a request with no Host in the envelope, for HTTP/1.1 and HTTP/1.0', async () => {
    for (const version of ['1.1', '1.0']) {
      const reply = await rawRequest(broker.port, `GET /health HTTP/${version}\r\nConnection: close\r\n\r\n`);
      expect(reply.status, version).toBe(400);
      expect(envelope(reply.body).error).toMatch(/Host/);
    }
  });

  it('checks the authority of an absolute-form request target', async () => {
    for (const target of ['http://evil.com/health', 'http://evil.com:80/ws', 'http://[::ffff:1.2.3.4]/health']) {
      const isWs = target.endsWith('/ws');
      const reply = await rawRequest(
        broker.port,
        `GET ${target} HTTP/1.1\r\nHost: localhost:${broker.port}\r\n${isWs ? upgradeHeaders : ''}Connection: ${isWs ? 'Upgrade' : 'close'}\r\n\r\n`,
      );
      expect(reply.status, target).toBe(421);
      expect(envelope(reply.body).code).toBe('misdirected_host');
    }
    const own = await rawRequest(
      broker.port,
      `GET http://localhost:${broker.port}/health HTTP/1.1\r\nHost: localhost:${broker.port}\r\nConnection: close\r\n\r\n`,
    );
    expect(own.status).toBe(200);
  });
});
