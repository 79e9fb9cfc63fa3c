import { describe, expect, it } from 'vitest';
import { PendingReplies } from '../../src/client/replies.ts';
import { DuoError } from '../../src/shared/errors.ts';

describe('PendingReplies', () => {
  it('settles each request by its ref, once', async () => {
    const replies = new PendingReplies<string>();
    const first = replies.open(1_000, 'late');
    const second = replies.open(1_000, 'late');
    expect(first.ref).not.toBe(second.ref);
    expect(replies.resolve(second.ref, 'two')).toBe(true);
    expect(replies.reject(first.ref, new DuoError('not_member', 'no'))).toBe(true);
    expect(replies.resolve(first.ref, 'again')).toBe(false);
    expect(replies.resolve(undefined, 'none')).toBe(false);
    await expect(second.reply).resolves.toBe('two');
    await expect(first.reply).rejects.toMatchObject({ code: 'not_member' });
  });

  it('fails a request on its deadline, and all of them at once when the socket drops', async () => {
    const replies = new PendingReplies<string>();
    const late = replies.open(20, 'The broker did not confirm in time.');
    await expect(late.reply).rejects.toMatchObject({
      code: 'unavailable',
      message: 'The broker did not confirm in time.',
    });
    const a = replies.open(10_000, 'late');
    const b = replies.open(10_000, 'late');
    replies.rejectAll('The connection dropped.');
    await expect(a.reply).rejects.toThrow('The connection dropped.');
    await expect(b.reply).rejects.toThrow('The connection dropped.');
  });
});
