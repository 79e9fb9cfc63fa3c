import type { ZodType } from 'zod';
import { codeForStatus, DuoError, type ErrorCode } from '../shared/errors.ts';
import { describeIssues, type ErrorReply } from '../shared/protocol.ts';
import { storageError } from './db.ts';

/** Validates input at the edge; a failure is a 400 that names the field and the problem. */
export function parseInput<T>(schema: ZodType<T>, value: unknown, what: string): T {
  const result = schema.safeParse(value);
  if (!result.success) throw new DuoError('bad_request', `Invalid ${what}: ${describeIssues(result.error)}.`);
  return result.data;
}

const fastifyCodes: Record<string, ErrorCode> = {
  FST_ERR_CTP_INVALID_MEDIA_TYPE: 'unsupported_media_type',
  FST_ERR_CTP_BODY_TOO_LARGE: 'payload_too_large',
  FST_ERR_CTP_INVALID_JSON_BODY: 'invalid_json',
  FST_ERR_CTP_EMPTY_JSON_BODY: 'invalid_json',
};

const fastifyMessages: Partial<Record<ErrorCode, string>> = {
  unsupported_media_type: 'Only JSON bodies are accepted: send "Content-Type: application/json".',
  payload_too_large: 'The request body is too large; a message is at most 64 KiB.',
  invalid_json: 'The request body is not valid JSON (or is empty while Content-Type says JSON).',
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
  if (known) return new DuoError(known, fastifyMessages[known]!);
  if (typeof statusCode === 'number' && statusCode >= 400 && statusCode < 500) {
    return new DuoError(codeForStatus(statusCode), (error as Error).message || 'The request was not understood.');
  }
  return new DuoError(
    'internal',
    'The broker hit an unexpected error; nothing was acknowledged. Retry, and check the broker log if it persists.',
    { cause: error },
  );
}

export function errorReply(error: DuoError): ErrorReply {
  return { error: error.message, code: error.code };
}
