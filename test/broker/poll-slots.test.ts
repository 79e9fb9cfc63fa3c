/** The cap on a partner's open long-polls. */
import { describe, expect, it } from 'vitest';
import { PollSlots } from '../../src/broker/poll-slots.ts';

describe('PollSlots', () => {
  it('ends the oldest slot of a partner past the cap, and only that partner', () => {
    const slots = new PollSlots(2);
    const first = slots.take('bob');
    const second = slots.take('bob');
    const other = slots.take('carol');
    const third = slots.take('bob');
    expect([first.signal.aborted, second.signal.aborted, third.signal.aborted]).toEqual([true, false, false]);
    expect(other.signal.aborted).toBe(false);
    expect(slots.count('bob')).toBe(2);
    for (const slot of [first, second, third]) slot.release();
    expect(slots.count('bob')).toBe(0);
  });
});
