import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { partnerConfigFromEnv } from '../../src/partner/config.ts';
import { backoffDelay, webSocketUrl } from '../../src/partner/connection.ts';
import { localTime, unreadFooter } from '../../src/partner/format.ts';
import { candidateIds, preferredPartnerId } from '../../src/partner/identity.ts';
import { resolveConversation, resolvePartner, resolveTarget } from '../../src/partner/resolve.ts';
import { SecretStore } from '../../src/partner/secrets.ts';
import { fallbackPartnerId } from '../../src/shared/ids.ts';
import type { Message } from '../../src/shared/protocol.ts';

describe('partner config', () => {
  it('reads the seed variables with their defaults', () => {
    const config = partnerConfigFromEnv({ XDG_CONFIG_HOME: '/x' }, '/home/u/My Project');
    expect(config.brokerUrl).toBe('http://localhost:3210');
    expect(config.projectDir).toBe('/home/u/My Project');
    expect(config.secretsFile).toBe('/x/claude-duo/secrets.json');
    expect(config.partnerId).toBeUndefined();
  });

  it('takes PARTNER_ID, PARTNER_NAME, DUO_TOKEN and CLAUDE_PROJECT_DIR', () => {
    const config = partnerConfigFromEnv(
      {
        BROKER_URL: 'http://127.0.0.1:4000/',
        PARTNER_ID: 'alice',
        PARTNER_NAME: 'Alice A',
        DUO_TOKEN: 't',
        CLAUDE_PROJECT_DIR: '/p',
      },
      '/elsewhere',
    );
    expect(config).toMatchObject({
      brokerUrl: 'http://127.0.0.1:4000',
      partnerId: 'alice',
      name: 'Alice A',
      token: 't',
      projectDir: '/p',
    });
  });

  it('rejects a bad PARTNER_ID or BROKER_URL with a sentence', () => {
    expect(() => partnerConfigFromEnv({ PARTNER_ID: 'Bad Id' }, '/p')).toThrow(/partnerId/);
    expect(() => partnerConfigFromEnv({ BROKER_URL: 'ftp://x' }, '/p')).toThrow(/BROKER_URL must be/);
  });
});

describe('identity', () => {
  it('prefers PARTNER_ID, else the folder slug, and tries the path-hashed fallback next', () => {
    expect(preferredPartnerId({ projectDir: '/home/u/My App', partnerId: undefined })).toBe('my-app');
    expect(preferredPartnerId({ projectDir: '/home/u/My App', partnerId: 'alice' })).toBe('alice');
    const dir = mkdtempSync(join(tmpdir(), 'duo-id-'));
    try {
      const store = new SecretStore(join(dir, 'secrets.json'));
      const config = { brokerUrl: 'http://localhost:3210', partnerId: undefined, name: undefined, projectDir: dir };
      const [first, second] = candidateIds({ config, store });
      expect(second).toBe(fallbackPartnerId(first!, dir));
      // A project that fell back last time starts with its fallback id.
      store.setProjectPartner(config.brokerUrl, dir, second!);
      expect(candidateIds({ config, store })).toEqual([second, first]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('connection helpers', () => {
  it('backs off with capped full jitter', () => {
    expect(backoffDelay(0, 250, 10_000, () => 0.999)).toBe(249);
    expect(backoffDelay(3, 250, 10_000, () => 0.5)).toBe(1000);
    expect(backoffDelay(20, 250, 10_000, () => 0.999)).toBe(9990);
    expect(backoffDelay(5, 250, 10_000, () => 0)).toBe(0);
  });

  it('derives the WebSocket URL from the broker URL', () => {
    expect(webSocketUrl('http://localhost:3210')).toBe('ws://localhost:3210/ws');
    expect(webSocketUrl('https://duo.example/base/')).toBe('wss://duo.example/base/ws');
  });
});

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

describe('formatting', () => {
  it('shows local HH:MM today and the date otherwise', () => {
    const now = new Date(2026, 0, 15, 12, 0);
    expect(localTime(new Date(2026, 0, 15, 9, 5).toISOString(), now)).toBe('09:05');
    expect(localTime(new Date(2026, 0, 14, 23, 59).toISOString(), now)).toBe('2026-01-14 23:59');
  });

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
