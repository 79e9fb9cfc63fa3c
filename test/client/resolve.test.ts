import { describe, expect, it } from 'vitest';
import { resolveConversation, resolvePartner, resolveTarget } from '../../src/client/resolve.ts';

describe('resolving what the model typed', () => {
  it('reads one word as a conversation when it is one, else as a partner', async () => {
    const partners = async () => [{ id: 'bob', name: 'Bob B', online: true, status: null, lastSeen: null }];
    expect(await resolveTarget('group_abc123', 'alice', partners)).toEqual({ conversationId: 'group_abc123' });
    expect(await resolveTarget('direct:alice:bob', 'alice', partners)).toEqual({ conversationId: 'direct:alice:bob' });
    expect(await resolveTarget('direct_alice_bob', 'alice', partners)).toEqual({ conversationId: 'direct:alice:bob' });
    expect(await resolveTarget('bob', 'alice', partners)).toEqual({ to: 'bob' });
    expect(await resolveTarget('Bob B', 'alice', partners)).toEqual({ to: 'bob' });
  });

  it('accepts our ids, seed-style direct ids and bare partner ids as conversations', () => {
    expect(resolveConversation('direct:alice:bob', 'alice')).toBe('direct:alice:bob');
    expect(resolveConversation('group_abc123', 'alice')).toBe('group_abc123');
    expect(resolveConversation('direct_project_a_project_b', 'project_a')).toBe('direct:project_a:project_b');
    expect(resolveConversation('direct_project_a_project_b', 'project_b')).toBe('direct:project_a:project_b');
    expect(resolveConversation('bob', 'alice')).toBe('direct:alice:bob');
    expect(() => resolveConversation('Not An Id!', 'alice')).toThrow(/list_conversations/);
  });

  it('reads a direct id written either way round, or the older direct_a_b way, as the one spelling', async () => {
    const partners = async () => [];
    for (const written of ['direct:bob:alice', 'direct:alice:bob', 'direct_bob_alice', 'direct_alice_bob', 'alice']) {
      expect(resolveConversation(written, 'bob')).toBe('direct:alice:bob');
    }
    expect(await resolveTarget('direct:bob:alice', 'bob', partners)).toEqual({ conversationId: 'direct:alice:bob' });
  });

  it('suggests a real direct id from my side, never one with me twice', () => {
    expect(() => resolveConversation('Not An Id!', 'bob')).toThrow(/"direct:alice:bob"/);
    expect(() => resolveConversation('Not An Id!', 'zed')).toThrow(/"direct:bob:zed"/);
  });

  it('resolves display names and unslugged forms to partner ids', async () => {
    const partners = async () => [
      { id: 'project-b', name: 'Project B', online: true, status: null, lastSeen: null },
      { id: 'carol', name: 'Carol', online: false, status: null, lastSeen: null },
    ];
    await expect(resolvePartner('project-b', partners)).resolves.toBe('project-b');
    await expect(resolvePartner('Project B', partners)).resolves.toBe('project-b');
    await expect(resolvePartner('CAROL', partners)).resolves.toBe('carol');
    await expect(resolvePartner('Nobody Here', partners)).rejects.toThrow(/list_partners/);
  });
});
