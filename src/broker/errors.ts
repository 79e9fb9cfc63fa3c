/**
 * Turning whatever was thrown into the `{error, code}` reply. Codes, statuses and default
 * sentences live in the shared catalogue; this file only recognises what Fastify and SQLite throw.
 */
import { codeForStatus, DuoError, type ErrorCode } from '../shared/errors.ts';
import type { ErrorReply } from '../shared/protocol.ts';
import { storageError } from './db.ts';

/** Fastify's own refusals of a body, answered with the catalogue's sentence for the code. */
const fastifyCodes: Record<string, ErrorCode> = {
  FST_ERR_CTP_INVALID_MEDIA_TYPE: 'unsupported_media_type',
  FST_ERR_CTP_BODY_TOO_LARGE: 'payload_too_large',
  FST_ERR_CTP_INVALID_JSON_BODY: 'invalid_json',
  FST_ERR_CTP_EMPTY_JSON_BODY: 'invalid_json',
};

/**
 * Turns anything thrown into a DuoError. Storage failures keep their meaning (full, busy);
 * unexpected errors become a plain 500 whose details stay in the log.
 */
export function toDuoError(error: unknown): DuoError {
  if (error instanceof DuoError) return error;
  const mapped = storageError(error);
  if (mapped instanceof DuoError) return mapped;
  const { code, statusCode } = (error ?? {}) as { code?: string; statusCode?: number };
  const known = code === undefined ? undefined : fastifyCodes[code];
  if (known) return new DuoError(known);
  if (typeof statusCode === 'number' && statusCode >= 400 && statusCode < 500) {
    return new DuoError(codeForStatus(statusCode), (error as Error).message || 'The request was not understood.');
  }
  return new DuoError('internal', undefined, { cause: error });
}

export function errorReply(error: DuoError): ErrorReply {
  return { error: error.message, code: error.code };
}
