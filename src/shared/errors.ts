/**
 * The one error type of Claude Duo and the catalogue of its codes. Every failure that reaches a
 * caller carries a machine `code` and a sentence that says what went wrong and what to do; each
 * code is defined here once with its HTTP status, its default sentence and, where the sentence
 * does not already say it, a next step. The error table of docs/protocol.md is this catalogue,
 * and a test keeps the two equal.
 */
import { formatBytes, MAX_CONTENT_BYTES, MAX_HEADER_BYTES } from './limits.ts';

export interface ErrorEntry {
  /** The HTTP status of a REST reply carrying this code. */
  readonly status: number;
  /** The sentence used when the thrower has nothing more specific to say. */
  readonly message: string;
  /** What to do next, added by describeError when the sentence does not already say it. */
  readonly hint?: string;
}

export const errorCatalogue = {
  // The first code of each status is the generic one codeForStatus falls back to.
  bad_request: {
    status: 400,
    message: 'The request is not valid.',
    hint: 'Check the arguments against the tool description (or the API tables of docs/protocol.md) and try again.',
  },
  invalid_json: {
    status: 400,
    message: 'The request body is not valid JSON (or is empty while Content-Type says JSON).',
    hint: 'Send one JSON object, encoded as UTF-8.',
  },
  unauthorized: {
    status: 401,
    message: 'The partner secret is missing or wrong.',
    hint: 'Call register (or run duo register) to register this partner again.',
  },
  token_required: {
    status: 401,
    message: 'This broker requires its access token: send it in the "X-Duo-Token" header (the value of DUO_TOKEN).',
  },
  forbidden: {
    status: 403,
    message: 'A partner can only act as itself.',
    hint: 'Use your own partner id with your own secret.',
  },
  owner_required: {
    status: 403,
    message:
      'This needs the owner token: DUO_TOKEN is the join token, which lets an agent take part, not read every conversation or act for the humans.',
    hint: 'Run the command on a broker host (the owner-token file is there) or set DUO_OWNER_TOKEN; `duo token` on a broker host prints it.',
  },
  origin_forbidden: {
    status: 403,
    message: 'Requests from web origins are refused: the broker is for local tools.',
    hint: 'Allow an origin with DUO_ALLOWED_ORIGINS only if you must.',
  },
  not_member: {
    status: 403,
    message: 'You are not a member of that conversation.',
    hint: 'Call list_conversations to see the conversations you belong to.',
  },
  not_found: {
    status: 404,
    message: 'Nothing exists at that path.',
    hint: 'Check it against the REST table of docs/protocol.md; call list_conversations or list_partners for valid ids.',
  },
  unknown_partner: {
    status: 404,
    message: 'No partner is registered under that id.',
    hint: 'Call list_partners to see the ids you can talk to.',
  },
  unknown_conversation: {
    status: 404,
    message: 'There is no such conversation.',
    hint: 'Call list_conversations to see your conversations.',
  },
  request_timeout: {
    status: 408,
    message: 'The request took too long to arrive; send it again in one go.',
  },
  conflict: {
    status: 409,
    message: 'The request conflicts with the current state: another session or broker holds what it asks for.',
    hint: 'Stop the other one, or take over from it (the sentence says which), then try again.',
  },
  id_taken: {
    status: 409,
    message: 'That partner id is already registered by another project (or its secret was lost).',
    hint: 'Present its secret, or register under another id (set PARTNER_ID).',
  },
  payload_too_large: {
    status: 413,
    message: `The request body is too large; a message is at most ${formatBytes(MAX_CONTENT_BYTES)}.`,
    hint: 'Split the message into smaller parts.',
  },
  unsupported_media_type: {
    status: 415,
    message: 'Only JSON bodies are accepted: send "Content-Type: application/json".',
  },
  misdirected_host: {
    status: 421,
    message: 'This broker does not answer to that host name.',
    hint: "Use localhost with the broker's port, or add the name to DUO_ALLOWED_HOSTS.",
  },
  conversation_held: {
    status: 423,
    message:
      'The loop guard holds this conversation: agents exchanged too many messages in it without a human message.',
    hint: 'Stop messaging this conversation; a human resumes it in the console or with duo resume, or by writing in it.',
  },
  rate_limited: {
    status: 429,
    message: 'Too many requests.',
    hint: 'Wait a few seconds (Retry-After says how many), then try again.',
  },
  headers_too_large: {
    status: 431,
    message: `The request headers are too large (${formatBytes(MAX_HEADER_BYTES)} at most).`,
    hint: 'Send fewer or shorter headers.',
  },
  internal: {
    status: 500,
    message:
      'The broker hit an unexpected error; nothing was acknowledged. Retry, and check the broker log if it persists.',
  },
  unavailable: {
    status: 503,
    message: 'The broker is not reachable right now.',
    hint: 'Try again in a few seconds; if it persists, start the broker (duo broker).',
  },
  storage_busy: {
    status: 503,
    message: 'The broker database is locked by another process. Nothing was saved; retry in a moment.',
  },
  storage_unavailable: {
    status: 503,
    message:
      'The broker cannot reach its database. Nothing was saved; retry in a moment (another broker of the team may answer).',
  },
  storage_full: {
    status: 507,
    message: 'The broker could not store this: its disk or database is full. Nothing was saved; free space and retry.',
  },
} as const satisfies Record<string, ErrorEntry>;

export type ErrorCode = keyof typeof errorCatalogue;

/** The HTTP status of each code. */
export const errorStatus = Object.fromEntries(
  Object.entries(errorCatalogue).map(([code, entry]) => [code, entry.status]),
) as { readonly [C in ErrorCode]: (typeof errorCatalogue)[C]['status'] };

export class DuoError extends Error {
  readonly code: ErrorCode;
  /** Seconds the caller should wait before retrying (rate limits, busy storage). */
  readonly retryAfter?: number;

  /** Without a `message`, the code's default sentence from the catalogue. */
  constructor(code: ErrorCode, message?: string, options?: { retryAfter?: number; cause?: unknown }) {
    super(message ?? errorCatalogue[code].message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'DuoError';
    this.code = code;
    if (options?.retryAfter !== undefined) this.retryAfter = options.retryAfter;
  }

  get status(): number {
    return errorStatus[this.code];
  }

  /** The code's next step from the catalogue, if it has one. */
  get hint(): string | undefined {
    return entryOf(this.code).hint;
  }
}

function entryOf(code: ErrorCode): ErrorEntry {
  return errorCatalogue[code];
}

export function isErrorCode(value: string): value is ErrorCode {
  return Object.hasOwn(errorCatalogue, value);
}

/** The generic code for an HTTP status, for replies that carry no code of their own. */
export function codeForStatus(status: number): ErrorCode {
  const code = (Object.keys(errorStatus) as ErrorCode[]).find((c) => errorStatus[c] === status);
  return code ?? (status >= 500 ? 'internal' : 'bad_request');
}

/** Errors worth retrying later: the broker is down, busy, rate limiting, or briefly failing. */
export function isTransient(error: unknown): boolean {
  return (
    error instanceof DuoError &&
    ['unavailable', 'rate_limited', 'storage_busy', 'storage_unavailable', 'internal'].includes(error.code)
  );
}

/** Words that show a sentence already tells the reader what to do. */
const NEXT_STEP =
  /\b(call|run|try again|retry|start|set|send|use|register|wait|split|free|check|ask|add|present|remove|fix|allow)\b/i;

/**
 * One sentence for any failure, for people and models alike: a DuoError's own sentence plus its
 * next step when the sentence does not already give one (a wait when it carries `retryAfter`),
 * and the plain message of anything else.
 */
export function describeError(error: unknown): string {
  if (!(error instanceof DuoError)) {
    const message = error instanceof Error ? error.message : String(error);
    return asSentence(message) || 'Something went wrong, without a message saying what.';
  }
  const text = asSentence(error.message);
  if (NEXT_STEP.test(text)) return text;
  const hint = error.retryAfter !== undefined ? `Wait ${error.retryAfter} s, then try again.` : error.hint;
  return hint ? `${text} ${hint}` : text;
}

/** `text` trimmed and ending in a full stop (or its own ! or ?); empty stays empty. */
function asSentence(text: string): string {
  const trimmed = text.trim();
  if (trimmed === '' || /[.!?]$/.test(trimmed)) return trimmed;
  return `${trimmed}.`;
}
