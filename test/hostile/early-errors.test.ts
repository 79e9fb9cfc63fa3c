/**
 * Requests refused before any route runs (a URL that cannot be decoded, oversized headers, a
 * body the parser refuses, a path that does not exist) still get the broker's defaults: the Host
 * and Origin checks come first (a DNS-rebinding page learns nothing from a malformed request),
 * and every answer carries the security headers and the `{error, code}` envelope with a code
 * from the catalogue.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { errorStatus } from '../../src/shared/errors.ts';
import { HEADER_PARSER_CEILING_BYTES, MAX_HEADER_BYTES } from '../../src/shared/limits.ts';
import { SECURITY_HEADERS } from '../../src/broker/console/static.ts';
import { startBroker, type TestBroker } from '../helpers/broker.ts';
import { rawRequest, type RawReply } from '../helpers/raw-http.ts';

let broker: TestBroker;
beforeAll(async () => {
  broker = await startBroker();
});
afterAll(async () => broker.close());

/** The reply has the security headers and an envelope whose code is in the catalogue. */
function expectDefaults(reply: RawReply, status: number, code: string): void {
  expect(reply.status, reply.body).toBe(status);
  for (const [name, value] of Object.entries(SECURITY_HEADERS)) expect(reply.headers[name], name).toBe(value);
  expect(reply.headers['content-type']).toMatch(/^application\/json/);
  const body = JSON.parse(reply.body) as { error: unknown; code: unknown };
  expect(Object.keys(body).sort()).toEqual(['code', 'error']);
  expect(typeof body.error).toBe('string');
  expect(Object.keys(errorStatus)).toContain(body.code);
  expect(body.code).toBe(code);
}

const get = (path: string, headers: string) => `GET ${path} HTTP/1.1\r\n${headers}Connection: close\r\n\r\n`;
const local = 'Host: localhost\r\n';

describe('a URL that cannot be decoded', () => {
  it('from a foreign Host gets 421, not the decoding error', async () => {
    expectDefaults(
      await rawRequest(broker.port, get('/console/%ff', 'Host: evil.example\r\n')),
      421,
      'misdirected_host',
    );
    expectDefaults(
      await rawRequest(broker.port, get('/health?x=%ff', 'Host: evil.example\r\n')),
      421,
      'misdirected_host',
    );
  });

  it('from a foreign Origin gets 403', async () => {
    expectDefaults(
      await rawRequest(broker.port, get('/console/%ff', `${local}Origin: https://evil.example\r\n`)),
      403,
      'origin_forbidden',
    );
  });

  it('from the right Host gets 400 bad_request with the security headers', async () => {
    const reply = await rawRequest(broker.port, get('/console/%ff', local));
    expectDefaults(reply, 400, 'bad_request');
    expect(JSON.parse(reply.body).error).toMatch(/percent-encoding/);
  });
});

describe('oversized headers', () => {
  const big = (size: number) => `X-Filler: ${'a'.repeat(size)}\r\n`;

  it('from a foreign Host get 421 first', async () => {
    expectDefaults(
      await rawRequest(broker.port, get('/health', `Host: evil.example\r\n${big(MAX_HEADER_BYTES + 10)}`)),
      421,
      'misdirected_host',
    );
  });

  it('get 431 headers_too_large with the security headers, also past the parser ceiling', async () => {
    expectDefaults(
      await rawRequest(broker.port, get('/health', `${local}${big(MAX_HEADER_BYTES + 10)}`)),
      431,
      'headers_too_large',
    );
    expectDefaults(
      await rawRequest(broker.port, get('/health', `${local}${big(HEADER_PARSER_CEILING_BYTES + 10)}`)),
      431,
      'headers_too_large',
    );
  });

  it('below the limit are answered as usual', async () => {
    const reply = await rawRequest(broker.port, get('/health', `${local}${big(MAX_HEADER_BYTES - 1024)}`));
    expect(reply.status).toBe(200);
  });
});

describe('errors of the body parser and the router', () => {
  const post = (path: string, headers: string, body: string) =>
    `POST ${path} HTTP/1.1\r\n${local}${headers}Content-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`;

  it('broken JSON, an unsupported type, an empty body and a too large one', async () => {
    expectDefaults(
      await rawRequest(broker.port, post('/register', 'Content-Type: application/json\r\n', '{')),
      400,
      'invalid_json',
    );
    expectDefaults(
      await rawRequest(broker.port, post('/register', 'Content-Type: text/plain\r\n', 'hi')),
      415,
      'unsupported_media_type',
    );
    expectDefaults(
      await rawRequest(broker.port, post('/register', 'Content-Type: application/json\r\n', '')),
      400,
      'invalid_json',
    );
    const huge = JSON.stringify({ content: 'a'.repeat(2 * 1024 * 1024) });
    expectDefaults(
      await rawRequest(broker.port, post('/register', 'Content-Type: application/json\r\n', huge)),
      413,
      'payload_too_large',
    );
  });

  it('a path that does not exist, and a broken request line', async () => {
    expectDefaults(await rawRequest(broker.port, get('/nowhere', local)), 404, 'not_found');
    expectDefaults(await rawRequest(broker.port, 'GARBAGE\r\n\r\n'), 400, 'bad_request');
  });
});
