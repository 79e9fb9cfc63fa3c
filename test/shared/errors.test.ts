import { describe, expect, it } from 'vitest';
import {
  codeForStatus,
  describeError,
  DuoError,
  errorCatalogue,
  errorStatus,
  isErrorCode,
  isTransient,
  type ErrorCode,
} from '../../src/shared/errors.ts';
import { CloseCode } from '../../src/shared/protocol.ts';
import { docTable, unquote } from '../helpers/doc-table.ts';

const codes = Object.keys(errorCatalogue) as ErrorCode[];

describe('the error table of docs/protocol.md', () => {
  const rows = docTable('docs/protocol.md', 'Errors', 'code');
  const documented = new Map(rows.map(([code, status, text]) => [unquote(code!), { status, text }]));

  it('lists every code of the catalogue, and no other', () => {
    const missing = codes.filter((code) => !documented.has(code));
    const unknown = [...documented.keys()].filter((code) => !isErrorCode(code));
    expect(missing, 'codes to add to the table').toEqual([]);
    expect(unknown, 'table rows with no code in src/shared/errors.ts').toEqual([]);
    expect(rows).toHaveLength(codes.length);
  });

  it('gives each code its status and its default sentence with the next step', () => {
    for (const code of codes) {
      expect(documented.get(code), code).toEqual({
        status: String(errorCatalogue[code].status),
        text: describeError(new DuoError(code)),
      });
    }
  });
});

describe('the close-code table of docs/protocol.md', () => {
  it('lists every close code the broker uses, and no other', () => {
    const documented = docTable('docs/protocol.md', 'WebSocket protocol', 'close code')
      .map(([code]) => Number(unquote(code!)))
      .sort((a, b) => a - b);
    expect(documented).toEqual(Object.values(CloseCode).sort((a, b) => a - b));
  });
});

describe('the catalogue', () => {
  it('maps every code to an error status, the generic code of a status first', () => {
    for (const code of codes) {
      expect(errorStatus[code]).toBeGreaterThanOrEqual(400);
      expect(new DuoError(code).status).toBe(errorCatalogue[code].status);
      expect(errorStatus[codeForStatus(errorStatus[code])]).toBe(errorStatus[code]);
    }
    expect(codeForStatus(404)).toBe('not_found');
    expect(codeForStatus(418)).toBe('bad_request');
    expect(codeForStatus(502)).toBe('internal');
  });

  it('keeps new DuoError(code, message) working, with the default sentence when none is given', () => {
    const specific = new DuoError('unknown_partner', 'No partner is registered as "zed".');
    expect([specific.code, specific.message, specific.status]).toEqual([
      'unknown_partner',
      'No partner is registered as "zed".',
      404,
    ]);
    expect(new DuoError('unknown_partner').message).toBe(errorCatalogue.unknown_partner.message);
    expect(new DuoError('storage_busy', undefined, { retryAfter: 2 }).retryAfter).toBe(2);
    expect(isTransient(new DuoError('storage_busy'))).toBe(true);
    expect(isTransient(new DuoError('not_member'))).toBe(false);
  });
});

describe('describeError', () => {
  it('adds the next step when the sentence does not give one', () => {
    expect(describeError(new DuoError('not_member', 'You are not in "group_abc"'))).toBe(
      'You are not in "group_abc". Call list_conversations to see the conversations you belong to.',
    );
  });

  it('leaves a sentence that already says what to do as it is', () => {
    const text = 'There is no conversation "group_x". Call list_conversations to see yours.';
    expect(describeError(new DuoError('unknown_conversation', text))).toBe(text);
  });

  it('turns retryAfter into how long to wait', () => {
    expect(describeError(new DuoError('rate_limited', 'Slow down', { retryAfter: 3 }))).toBe(
      'Slow down. Wait 3 s, then try again.',
    );
  });

  it('says what any other error says, as a sentence', () => {
    expect(describeError(new Error('socket hang up'))).toBe('socket hang up.');
    expect(describeError('plain text?')).toBe('plain text?');
    expect(describeError(new Error(''))).toMatch(/^Something went wrong/);
  });
});
