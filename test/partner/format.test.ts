import { describe, expect, it } from 'vitest';
import { unreadFooter } from '../../src/partner/format.ts';
import type { Message } from '../../src/shared/protocol.ts';

describe('formatting', () => {
  it('builds the unread footer from counts and ids only', () => {
    const m = (id: number, conversationId: string, from: string): Message => ({
      id,
      conversationId,
      from,
      content: 'SECRET TEXT',
      createdAt: '2026-01-01T00:00:00.000Z',
    });
    const line = unreadFooter(
      [m(1, 'direct:alice:bob', 'bob'), m(2, 'group_xyzxyz', 'carol'), m(3, 'direct:alice:bob', 'bob')],
      'alice',
    );
    expect(line).toBe('📬 3 unread: 2 from bob (direct:alice:bob), 1 in group_xyzxyz — call listen');
    expect(line).not.toContain('SECRET');
    expect(unreadFooter([], 'alice')).toBe('');
  });
});
