import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { AckLedger, type AckSink } from '../../src/client/ack-ledger.ts';

/** A connection stand-in that records the acks it was asked to send. */
function sink(): AckSink & { sent: string[] } {
  const sent: string[] = [];
  return { sent, sendAck: (conversationId, upTo) => sent.push(`${conversationId}@${upTo}`) };
}

describe('AckLedger', () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('sends an ack only when it moves a conversation forward', () => {
    const fake = sink();
    const ledger = new AckLedger(fake);
    ledger.ack('direct:a:b', 3);
    ledger.ack('direct:a:b', 2);
    ledger.ack('direct:a:b', 3);
    ledger.ack('group_xyzxyz', 1);
    ledger.ack('direct:a:b', 5);
    expect(fake.sent).toEqual(['direct:a:b@3', 'group_xyzxyz@1', 'direct:a:b@5']);
  });

  it('sends the highest of every conversation again on request (a reconnect)', () => {
    const fake = sink();
    const ledger = new AckLedger(fake);
    ledger.ack('direct:a:b', 3);
    ledger.ack('direct:a:b', 4);
    ledger.ack('group_xyzxyz', 1);
    fake.sent.length = 0;
    ledger.sendAll();
    expect(fake.sent).toEqual(['direct:a:b@4', 'group_xyzxyz@1']);
  });

  it('after a refusal sends them all once, a little later, however many refusals came', () => {
    const fake = sink();
    const ledger = new AckLedger(fake, 1_000);
    ledger.ack('direct:a:b', 3);
    fake.sent.length = 0;
    ledger.refused();
    ledger.refused();
    vi.advanceTimersByTime(999);
    expect(fake.sent).toEqual([]);
    vi.advanceTimersByTime(1);
    expect(fake.sent).toEqual(['direct:a:b@3']);
  });

  it('forgets a conversation that was left, and everything when cleared', () => {
    const fake = sink();
    const ledger = new AckLedger(fake);
    ledger.ack('direct:a:b', 3);
    ledger.ack('group_xyzxyz', 1);
    ledger.forget('group_xyzxyz');
    fake.sent.length = 0;
    ledger.sendAll();
    expect(fake.sent).toEqual(['direct:a:b@3']);
    ledger.refused();
    ledger.clear();
    vi.advanceTimersByTime(5_000);
    ledger.sendAll();
    expect(fake.sent).toEqual(['direct:a:b@3']);
  });
});
