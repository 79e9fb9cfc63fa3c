/**
 * One partner cannot park an unbounded number of long-polls: past the cap, each new listen ends
 * the oldest, which returns at once with no messages. The ones left open still get messages.
 */
import { afterEach, expect, it } from 'vitest';
import { MAX_LONG_POLLS_PER_PARTNER } from '../../src/shared/limits.ts';
import { startBroker, type TestBroker } from '../helpers/broker.ts';
import { register, talk } from '../helpers/clients.ts';
import { figure, sleep, waitFor } from '../helpers/scale.ts';

let broker: TestBroker;
afterEach(async () => broker.close());

const OPENED = 30;

it(`keeps at most ${MAX_LONG_POLLS_PER_PARTNER} long-polls of one partner open; the newest ends the oldest`, async () => {
  broker = await startBroker();
  const alice = await register(broker.url, 'alice');
  const bob = await register(broker.url, 'bob');
  const abort = new AbortController();
  const returned: Array<{ index: number; status: number; messages: Array<{ content: string }> }> = [];
  const listen = (index: number) =>
    (async () => {
      try {
        const response = await fetch(`${broker.url}/listen/bob?timeout=3600`, {
          headers: { authorization: `Bearer ${bob.secret}` },
          signal: abort.signal,
        });
        const body = (await response.json()) as { messages: Array<{ content: string }> };
        returned.push({ index, status: response.status, messages: body.messages });
      } catch {
        // Aborted at the end of the test.
      }
    })();
  const polls: Array<Promise<void>> = [];
  for (let index = 0; index < OPENED; index++) {
    polls.push(listen(index));
    // One at a time, each seen by the broker before the next, so "oldest" is well defined.
    const parked = Math.min(index + 1, MAX_LONG_POLLS_PER_PARTNER);
    const endedSoFar = Math.max(0, index + 1 - MAX_LONG_POLLS_PER_PARTNER);
    await waitFor(
      () => broker.broker.service.longPoll.openListens('bob') === parked && returned.length === endedSoFar,
      10_000,
      `listen ${index} parked`,
    );
  }
  const ended = OPENED - MAX_LONG_POLLS_PER_PARTNER;
  await waitFor(() => returned.length >= ended, 10_000, `${ended} listens ended by newer ones`);
  await sleep(200);
  const endedEarly = [...returned];
  const open = broker.broker.service.longPoll.openListens('bob');

  await talk(broker.url, alice, { to: 'bob', content: 'for one of the open ones' });
  await waitFor(() => returned.length > endedEarly.length, 5_000, 'an open listen gets the message');
  const got = returned.slice(endedEarly.length);
  abort.abort();
  await Promise.all(polls);
  await waitFor(() => broker.broker.service.longPoll.openListens('bob') === 0, 5_000, 'all listens closed');

  figure('long-poll cap', {
    opened: OPENED,
    cap: MAX_LONG_POLLS_PER_PARTNER,
    endedByNewer: endedEarly.length,
    openAtBroker: open,
    messageWentTo: got.map((r) => r.index).join(','),
  });
  expect(endedEarly).toHaveLength(ended);
  expect(endedEarly.every((r) => r.status === 200 && r.messages.length === 0)).toBe(true);
  // The oldest ones were ended, in order.
  expect(endedEarly.map((r) => r.index).sort((a, b) => a - b)).toEqual(Array.from({ length: ended }, (_, i) => i));
  expect(open).toBe(MAX_LONG_POLLS_PER_PARTNER);
  expect(got).toHaveLength(1);
  expect(got[0]!.index).toBeGreaterThanOrEqual(ended);
  expect(got[0]!.messages.map((m) => m.content)).toEqual(['for one of the open ones']);
});
