/**
 * Every refusal the broker sends, in one shape: the security headers and the `{error, code}`
 * envelope with a catalogue code. That includes the answers that happen before any route or
 * hook runs: a URL Fastify cannot decode (`GET /console/%ff`), and requests Node's HTTP parser
 * refuses (a broken request line, headers past the parser's ceiling, a header timeout). A URL
 * that cannot be decoded is first put through the same Host and Origin guard as every other
 * request, so a page on a foreign host learns nothing from a malformed request but 421.
 */
import { STATUS_CODES } from 'node:http';
import type { Socket } from 'node:net';
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { DuoError } from '../shared/errors.ts';
import { SECURITY_HEADERS } from './console/static.ts';
import { errorReply, toDuoError } from './errors.ts';

/** Sends `duo` as the reply: status, Retry-After when it has one, security headers, envelope. */
export function sendError(reply: FastifyReply, duo: DuoError): FastifyReply {
  if (duo.retryAfter !== undefined) void reply.header('retry-after', String(duo.retryAfter));
  // Set here too, not only by the onSend hook: replies made outside a route do not run hooks.
  for (const [name, value] of Object.entries(SECURITY_HEADERS)) void reply.header(name, value);
  void reply.header('cache-control', 'no-store');
  return reply.status(duo.status).send(errorReply(duo));
}

/** Fastify's `frameworkErrors`: a URL it cannot decode, or a path parameter past its length. */
export function frameworkErrors(guard: (request: FastifyRequest) => void) {
  return (error: FastifyError, request: FastifyRequest, reply: FastifyReply): void => {
    let duo: DuoError;
    try {
      guard(request);
      duo =
        error.code === 'FST_ERR_BAD_URL'
          ? new DuoError(
              'bad_request',
              'The URL has invalid percent-encoding (such as "%ff"); encode the path and query as UTF-8 and percent-encode each byte.',
            )
          : new DuoError('bad_request', 'A part of the URL path is too long; check the path against the README.');
    } catch (refusal) {
      duo = toDuoError(refusal);
    }
    void sendError(reply, duo);
  };
}

/**
 * Fastify's `clientErrorHandler`: what Node's HTTP parser refused never became a request, so
 * the answer is written to the socket by hand, with the same headers and envelope.
 */
export function clientErrorHandler(error: Error, socket: Socket): void {
  const code = (error as NodeJS.ErrnoException).code;
  if (code === 'ECONNRESET' || socket.destroyed) return;
  const duo =
    code === 'ERR_HTTP_REQUEST_TIMEOUT'
      ? new DuoError('request_timeout')
      : code === 'HPE_HEADER_OVERFLOW'
        ? new DuoError('headers_too_large')
        : new DuoError('bad_request', 'The request is not valid HTTP/1.1.');
  if (socket.writable) socket.write(rawErrorResponse(duo));
  socket.destroy();
}

/** A complete HTTP/1.1 response for `duo`, closing the connection. */
export function rawErrorResponse(duo: DuoError): string {
  const body = JSON.stringify(errorReply(duo));
  const headers = {
    'Content-Type': 'application/json; charset=utf-8',
    'Content-Length': String(Buffer.byteLength(body)),
    ...SECURITY_HEADERS,
    'cache-control': 'no-store',
    Connection: 'close',
  };
  const lines = Object.entries(headers).map(([name, value]) => `${name}: ${value}\r\n`);
  return `HTTP/1.1 ${duo.status} ${STATUS_CODES[duo.status]}\r\n${lines.join('')}\r\n${body}`;
}
