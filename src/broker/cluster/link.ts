/**
 * The connection that hears the other brokers of the database: one dedicated PostgreSQL
 * connection (not from the pool) that LISTENs on the cluster channel, plus the heartbeat that
 * tells the others this broker is alive and notices when one of them is not.
 *
 * Notifications are handled one at a time, in the order PostgreSQL delivers them (commit order).
 * When the connection drops, what was said meanwhile is lost: after reconnecting, `reconnected`
 * lets the broker catch up from the database, which holds everything that matters.
 *
 * Only payloads a broker of the database signed are believed, and each only once (replay.ts).
 * Send times are compared on the database's clock, measured here at every (re)connection and
 * now and then, so brokers on hosts whose clocks disagree still agree on what is fresh.
 */
import pg from 'pg';
import type { Logger } from '../../shared/log.ts';
import {
  CLUSTER_BEAT_MS,
  CLUSTER_CLOCK_SYNC_MS,
  CLUSTER_PEER_TIMEOUT_MS,
  CLUSTER_RECONNECT_MAX_MS,
  CLUSTER_STOP_WAIT_MS,
} from '../../shared/limits.ts';
import { postgresConfig } from '../db-postgres.ts';
import { CLUSTER_CHANNEL } from '../store.ts';
import { ClusterEvent } from './events.ts';
import type { Peers } from './peers.ts';
import { ReplayGuard } from './replay.ts';

const REFUSED_LOG_EVERY = 1000;

export interface LinkHandlers {
  /** An event from any broker, this one included (for its own `open`). */
  event(event: ClusterEvent): Promise<void>;
  /** The connection came back after a drop: anything may have been missed. */
  reconnected(): Promise<void>;
  /** A broker stopped beating (or said bye). */
  brokerGone(brokerId: string): Promise<void>;
}

export class ClusterLink {
  private client: pg.Client | undefined;
  private readonly heard = new Map<string, number>();
  /** When this broker last heard its own beat come back: the proof its connection still works. */
  private lastEcho = Date.now();
  /** Notifications refused so far (logged now and then, not each: a flood must not flood the log). */
  private refused = 0;
  /** Signed notifications refused as heard before or too old. */
  private replays = 0;
  private readonly replayGuard: ReplayGuard;
  private clockSyncedAt = 0;
  private queue: Promise<void> = Promise.resolve();
  private beat: NodeJS.Timeout | undefined;
  private retry: NodeJS.Timeout | undefined;
  private retryMs = 100;
  private stopped = false;

  constructor(
    private readonly url: string,
    private readonly peers: Peers,
    private readonly handlers: LinkHandlers,
    private readonly log: Logger,
  ) {
    this.replayGuard = new ReplayGuard(() => peers.now());
  }

  /** The other brokers heard from lately (each beats every few seconds). */
  get peerCount(): number {
    return this.heard.size;
  }

  /** Listens, says hello to the others and starts beating. Fails if the database cannot be reached. */
  async start(): Promise<void> {
    await this.connect();
    this.peers.publish({ t: 'beat', up: true });
    this.beat = setInterval(() => this.tick(), CLUSTER_BEAT_MS);
    this.beat.unref();
  }

  /** Says goodbye (the others drop this broker's partners at once) and closes the connection. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearInterval(this.beat);
    clearTimeout(this.retry);
    // A database that does not answer does not hold up the exit: the others time this broker out.
    await Promise.race([
      this.peers.published({ t: 'bye' }),
      new Promise((resolve) => setTimeout(resolve, CLUSTER_STOP_WAIT_MS).unref()),
    ]);
    const client = this.client;
    this.client = undefined;
    await client?.end().catch(() => {});
    // Whatever is still being applied gets a moment; a query stuck on a dead server does not hold up the exit.
    await Promise.race([this.queue, new Promise((resolve) => setTimeout(resolve, CLUSTER_STOP_WAIT_MS).unref())]);
  }

  private async connect(): Promise<void> {
    const client = new pg.Client(postgresConfig(this.url, `claude-duo broker ${this.peers.id}`));
    client.on('notification', (note) => {
      if (note.channel === CLUSTER_CHANNEL && note.payload !== undefined) this.receive(note.payload);
    });
    client.on('error', (error) => this.lost(client, error));
    client.on('end', () => this.lost(client));
    try {
      await client.connect();
      await client.query(`listen ${CLUSTER_CHANNEL}`);
      await this.syncClock(client);
    } catch (error) {
      await client.end().catch(() => {});
      throw error;
    }
    this.replayGuard.listening();
    this.client = client;
  }

  /** Measures how far the database's clock is from this host's (half the round trip is the error). */
  private async syncClock(client: pg.Client): Promise<void> {
    const before = Date.now();
    const result = await client.query<{ ms: number }>(
      'select extract(epoch from clock_timestamp())::float8 * 1000 as ms',
    );
    const after = Date.now();
    this.peers.useClockOffset(result.rows[0]!.ms - (before + after) / 2);
    this.clockSyncedAt = after;
  }

  private receive(payload: string): void {
    const json = this.peers.verified(payload);
    let parsed: ReturnType<typeof ClusterEvent.safeParse> | undefined;
    try {
      if (json !== undefined) parsed = ClusterEvent.safeParse(JSON.parse(json));
    } catch {
      // Not JSON: refused below like any other bad payload.
    }
    if (!parsed?.success) {
      // Anyone who can connect to the database can NOTIFY; only brokers can sign.
      if (this.refused++ % REFUSED_LOG_EVERY === 0)
        this.log.warn(
          { payload: payload.slice(0, 200), refused: this.refused },
          'ignored a notification on the cluster channel that no broker of this database signed, or that is malformed',
        );
      return;
    }
    const event = parsed.data;
    const refusal = this.replayGuard.check(event);
    if (refusal !== undefined) {
      // A broker's genuine payload heard again (someone replays captured ones), or sent too long ago.
      if (this.replays++ % REFUSED_LOG_EVERY === 0)
        this.log.warn(
          { broker: event.b, event: event.t, n: event.n, reason: refusal, refused: this.replays },
          'ignored a signed notification on the cluster channel heard before or sent too long ago (a replay, or a clock far off)',
        );
      return;
    }
    if (event.b === this.peers.id) {
      if (event.t === 'beat') this.lastEcho = Date.now();
    } else if (event.t === 'bye') {
      this.heard.delete(event.b);
    } else {
      // A broker heard for the first time (or again after it was taken for gone): ask everyone
      // who is online where, so its partners are known here.
      if (!this.heard.has(event.b) && event.t !== 'beat') this.peers.publish({ t: 'beat', up: true });
      this.heard.set(event.b, Date.now());
    }
    this.enqueue(() => (event.t === 'bye' ? this.handlers.brokerGone(event.b) : this.handlers.event(event)));
  }

  private enqueue(work: () => Promise<void>): void {
    this.queue = this.queue.then(work).catch((error: unknown) => {
      this.log.error({ err: error }, 'could not apply what another broker said');
    });
  }

  private tick(): void {
    this.peers.publish({ t: 'beat' });
    this.replayGuard.sweep();
    // Without our own connection we hear no one: that says nothing about the others.
    if (!this.client) return;
    const now = Date.now();
    if (now - this.clockSyncedAt > CLUSTER_CLOCK_SYNC_MS) {
      const client = this.client;
      this.syncClock(client).catch((error: unknown) => this.lost(client, error as Error));
    }
    // Our own beats stopped coming back: the connection died without a word (a silent network
    // failure). Reconnect, rather than take everyone else for gone.
    if (now - this.lastEcho > CLUSTER_PEER_TIMEOUT_MS) {
      this.lost(this.client, new Error('no notification came back for too long'));
      return;
    }
    for (const [brokerId, at] of this.heard) {
      if (now - at < CLUSTER_PEER_TIMEOUT_MS) continue;
      this.heard.delete(brokerId);
      this.log.warn({ broker: brokerId }, 'a broker of the team stopped answering; its partners are offline');
      this.enqueue(() => this.handlers.brokerGone(brokerId));
    }
  }

  private lost(client: pg.Client, error?: Error): void {
    if (this.client !== client) return;
    this.client = undefined;
    client.end().catch(() => {});
    if (this.stopped) return;
    this.log.warn({ err: error }, 'lost the connection that listens to the other brokers; reconnecting');
    this.scheduleReconnect();
  }

  private scheduleReconnect(): void {
    this.retry = setTimeout(() => {
      this.connect().then(
        async () => {
          if (this.stopped) {
            const client = this.client;
            this.client = undefined;
            await client?.end().catch(() => {});
            return;
          }
          this.retryMs = 100;
          this.lastEcho = Date.now();
          // Everyone counts as just heard: the silence was ours.
          for (const brokerId of this.heard.keys()) this.heard.set(brokerId, Date.now());
          this.enqueue(() => this.handlers.reconnected());
          this.peers.publish({ t: 'beat', up: true });
        },
        (error: unknown) => {
          this.log.warn({ err: error }, 'could not listen to the other brokers yet; retrying');
          this.retryMs = Math.min(this.retryMs * 2, CLUSTER_RECONNECT_MAX_MS);
          if (!this.stopped) this.scheduleReconnect();
        },
      );
    }, this.retryMs);
    this.retry.unref();
  }
}
