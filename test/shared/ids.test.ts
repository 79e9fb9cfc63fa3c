import { describe, expect, it } from 'vitest';
import { canonicalConversationId, otherMember, seedDirectConversationId } from '../../src/shared/ids.ts';
import { ConversationId } from '../../src/shared/protocol.ts';

describe('conversation ids', () => {
  it('spells a direct id written either way round the same', () => {
    expect(canonicalConversationId('direct:bob:alice')).toBe('direct:alice:bob');
    expect(canonicalConversationId('direct:alice:bob')).toBe('direct:alice:bob');
    expect(canonicalConversationId('group_0123456789abcdef0123')).toBe('group_0123456789abcdef0123');
    expect(ConversationId.parse('direct:bob:alice')).toBe('direct:alice:bob');
  });

  it('names the other member of a direct conversation', () => {
    expect(otherMember('direct:alice:bob', 'alice')).toBe('bob');
    expect(otherMember('direct:alice:bob', 'bob')).toBe('alice');
    expect(otherMember('group_0123456789abcdef0123', 'bob')).toBeUndefined();
  });

  it('reads the seed form direct_a_b from either side, ids with "_" included', () => {
    expect(seedDirectConversationId('direct_alice_bob', 'bob')).toBe('direct:alice:bob');
    expect(seedDirectConversationId('direct_bob_alice', 'bob')).toBe('direct:alice:bob');
    expect(seedDirectConversationId('direct_project_a_project_b', 'project_a')).toBe('direct:project_a:project_b');
    expect(seedDirectConversationId('direct_alice_carol', 'bob')).toBeUndefined();
    expect(seedDirectConversationId('direct:alice:bob', 'bob')).toBeUndefined();
  });
});
