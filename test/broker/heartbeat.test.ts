/**
 * Silence detection on its own: sockets here are plain recorders of ping and terminate, and each
 * round is run by hand (the real interval is tested end to end in ws.test.ts and the fault suite).
 */
import { afterEach, describe, expect, it } from 'vitest';
import { Heartbeat, type PingableSocket } from '../../src/broker/heartbeat.ts';

class RecordingSocket implements PingableSocket {
  pings = 0;
  terminated = false;
  ping(): void {
    this.pings++;
  }
  terminate(): void {
    this.terminated = true;
  }
}

let heartbeat: Heartbeat<RecordingSocket>;
afterEach(() => heartbeat.stop());

/** A heartbeat whose own timer never fires during a test. */
const manual = () => new Heartbeat<RecordingSocket>(3_600_000);

describe('heartbeat', () => {
  it('pings a socket each round while it answers', () => {
    heartbeat = manual();
    const socket = new RecordingSocket();
    heartbeat.add(socket);
    for (let round = 0; round < 3; round++) {
      heartbeat.beat();
      heartbeat.seen(socket);
    }
    expect(socket.pings).toBe(3);
    expect(socket.terminated).toBe(false);
  });

  it('terminates a socket that missed the previous ping, and only that one', () => {
    heartbeat = manual();
    const silent = new RecordingSocket();
    const talking = new RecordingSocket();
    heartbeat.add(silent);
    heartbeat.add(talking);
    heartbeat.beat();
    heartbeat.seen(talking);
    heartbeat.beat();
    expect(silent.terminated).toBe(true);
    expect(talking.terminated).toBe(false);
    expect(talking.pings).toBe(2);
  });

  it('forgets a removed socket, and a late sign of life does not bring it back', () => {
    heartbeat = manual();
    const socket = new RecordingSocket();
    heartbeat.add(socket);
    heartbeat.remove(socket);
    heartbeat.seen(socket);
    heartbeat.beat();
    heartbeat.beat();
    expect(socket.pings).toBe(0);
    expect(socket.terminated).toBe(false);
    expect([...heartbeat.sockets()]).toEqual([]);
  });

  it('runs its rounds on its own timer', async () => {
    heartbeat = new Heartbeat<RecordingSocket>(20);
    const socket = new RecordingSocket();
    heartbeat.add(socket);
    const deadline = Date.now() + 2_000;
    while (!socket.terminated && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    expect(socket.pings).toBe(1);
    expect(socket.terminated).toBe(true);
  });
});
