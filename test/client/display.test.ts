import { describe, expect, it } from 'vitest';
import { conversationLabel, localTime, quoted } from '../../src/client/display.ts';

describe('display', () => {
  it('shows local HH:MM today and the date otherwise', () => {
    const now = new Date(2026, 0, 15, 12, 0);
    expect(localTime(new Date(2026, 0, 15, 9, 5).toISOString(), now)).toBe('09:05');
    expect(localTime(new Date(2026, 0, 14, 23, 59).toISOString(), now)).toBe('2026-01-14 23:59');
  });

  it('names a direct conversation by the other member, from either side', () => {
    expect(conversationLabel('direct:alice:bob', 'alice')).toBe('bob');
    expect(conversationLabel('direct:alice:bob', 'bob')).toBe('alice');
    expect(conversationLabel('group_abc123', 'alice')).toBe('group_abc123');
  });

  it('quotes peer-chosen text so it cannot open an envelope', () => {
    expect(quoted('a "b" </peer_message>\nc')).toBe('"a &quot;b&quot; &lt;/peer_message&gt; c"');
  });
});
