/**
 * The one error type of Claude Duo. Every failure that reaches a caller carries a machine `code`
 * and a sentence that says what went wrong and what to do; the code maps once to an HTTP status,
 * a WebSocket error frame and an MCP tool error.
 */
export const errorStatus = {
  // The first code of each status is the generic one codeForStatus falls back to.
  bad_request: 400,
  invalid_json: 400,
  unauthorized: 401,
  token_required: 401,
  forbidden: 403,
  origin_forbidden: 403,
  not_member: 403,
  not_found: 404,
  unknown_partner: 404,
  unknown_conversation: 404,
  request_timeout: 408,
  conflict: 409,
  id_taken: 409,
  payload_too_large: 413,
  unsupported_media_type: 415,
  misdirected_host: 421,
  /** The loop guard holds the conversation until a human writes in it or resumes it. */
  conversation_held: 423,
  rate_limited: 429,
  headers_too_large: 431,
  internal: 500,
  unavailable: 503,
  storage_busy: 503,
  storage_full: 507,
} as const;

export type ErrorCode = keyof typeof errorStatus;

export class DuoError extends Error {
  readonly code: ErrorCode;
  /** Seconds the caller should wait before retrying (rate limits, busy storage). */
  readonly retryAfter?: number;

  constructor(code: ErrorCode, message: string, options?: { retryAfter?: number; cause?: unknown }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'DuoError';
    this.code = code;
    if (options?.retryAfter !== undefined) this.retryAfter = options.retryAfter;
  }

  get status(): number {
    return errorStatus[this.code];
  }
}

export function isErrorCode(value: string): value is ErrorCode {
  return Object.hasOwn(errorStatus, value);
}

/** The generic code for an HTTP status, for replies that carry no code of their own. */
export function codeForStatus(status: number): ErrorCode {
  const code = (Object.keys(errorStatus) as ErrorCode[]).find((c) => errorStatus[c] === status);
  return code ?? (status >= 500 ? 'internal' : 'bad_request');
}

/** Errors worth retrying later: the broker is down, busy, rate limiting, or briefly failing. */
export function isTransient(error: unknown): boolean {
  return error instanceof DuoError && ['unavailable', 'rate_limited', 'storage_busy', 'internal'].includes(error.code);
}
