/**
 * Frame floods: every frame counts against the rate limit before it is parsed, whether it is
 * valid, invalid, queued before `welcome`, or a ping. A flood gets rate_limited error frames
 * and then close code 4029, never an answer per frame and never an abrupt 1006.
 */
import { afterEach, expect, it } from 'vitest';
import { RATE_LIMIT_BURST, RATE_LIMIT_STRIKES } from '../../src/shared/limits.ts';
import { CloseCode } from '../../src/shared/protocol.ts';
import { startBroker, type TestBroker } from '../helpers/broker.ts';
import { connect, register, WsClient } from '../helpers/clients.ts';
import { figure, sleep, waitFor } from '../helpers/scale.ts';

const FLOOD = 1000;
/** Most frames a flooding socket can get answered before it is closed (burst, strikes, refill). */
const MOST_ANSWERED = RATE_LIMIT_BURST + RATE_LIMIT_STRIKES + 50;

let broker: TestBroker;
afterEach(async () => broker.close());

/** The close code, or 'open' if the socket is still open after a few seconds. */
function closeCodeSoon(client: WsClient): Promise<number | 'open'> {
  return Promise.race([client.closed, sleep(5_000).then(() => 'open' as const)]);
}

function errorCodes(client: WsClient): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const frame of client.frames) if (frame.type === 'error') counts[frame.code] = (counts[frame.code] ?? 0) + 1;
  return counts;
}

it('closes with 4029 a socket that floods invalid frames after a valid hello', async () => {
  broker = await startBroker();
  const alice = await register(broker.url, 'alice');
  const client = await connect(broker.url, alice);
  for (let i = 0; i < FLOOD; i++) client.sendRaw('{nope');
  const code = await closeCodeSoon(client);
  const errors = errorCodes(client);
  const answered = client.frames.filter((f) => f.type === 'error').length;
  figure('invalid-frame flood', { frames: FLOOD, answered, ...errors, closeCode: code });
  expect(code).toBe(CloseCode.rateLimited);
  expect(answered).toBeLessThan(MOST_ANSWERED);
  expect(errors.rate_limited).toBeGreaterThan(0);
});

it('counts frames queued behind the hello, before welcome, the same way', async () => {
  broker = await startBroker();
  const alice = await register(broker.url, 'alice');
  const client = new WsClient(broker.url);
  await client.opened;
  client.send({ type: 'hello', partnerId: 'alice', secret: alice.secret, since: 0 });
  for (let i = 0; i < FLOOD; i++) client.sendRaw('{nope');
  const code = await closeCodeSoon(client);
  const answered = client.frames.filter((f) => f.type === 'error').length;
  figure('flood before welcome', { frames: FLOOD, answered, ...errorCodes(client), closeCode: code });
  expect(code).toBe(CloseCode.rateLimited);
  expect(answered).toBeLessThan(MOST_ANSWERED);
});

it('answers pings within the rate, and closes a ping flood with 4029', async () => {
  broker = await startBroker();
  const alice = await register(broker.url, 'alice');
  const client = await connect(broker.url, alice);
  let pongs = 0;
  client.socket.on('pong', () => (pongs += 1));
  client.socket.ping();
  await waitFor(() => pongs === 1, 2_000, 'a pong');

  for (let i = 0; i < FLOOD * 5 && client.socket.readyState === client.socket.OPEN; i++) client.socket.ping();
  const code = await closeCodeSoon(client);
  figure('ping flood', { pings: FLOOD * 5, pongs, closeCode: code });
  expect(code).toBe(CloseCode.rateLimited);
  expect(pongs).toBeLessThan(MOST_ANSWERED);
});

it('keeps serving a partner that stays within the rate', async () => {
  broker = await startBroker();
  const alice = await register(broker.url, 'alice');
  await register(broker.url, 'bob');
  const client = await connect(broker.url, alice);
  for (let i = 0; i < RATE_LIMIT_BURST / 2; i++) client.sendRaw('{nope');
  client.send({ type: 'talk', ref: 'ok', to: 'bob', content: 'still here' });
  await client.frame('sent', (f) => f.ref === 'ok');
  expect(client.closeCode).toBeUndefined();
  client.close();
});
