/**
 * The broker's Prometheus metrics, served at GET /metrics (metrics-route.ts). Each broker has a
 * registry of its own (tests run several brokers in one process); the process metrics
 * (CPU, memory, event loop, garbage collection) belong to the process and are collected once.
 *
 * Labels carry only fixed words (a transport, a reason): never a partner id, a conversation id
 * or message text, so the number of series stays small and a scrape reveals nobody's traffic.
 * Gauges are read when scraped from the state that already exists (sessions, long-polls,
 * watchers, other brokers), so they cannot drift from it.
 */
import { performance } from 'node:perf_hooks';
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import { BoundedMap } from '../shared/bounded-map.ts';

/** How a message reached the broker. */
export type Transport = 'ws' | 'rest' | 'console';
const TRANSPORTS: readonly Transport[] = ['ws', 'rest', 'console'];

/** Which credential a refused request (or WebSocket hello) lacked. */
export type AuthFailureReason =
  /** A partner route or hello without a partner secret. */
  | 'missing_secret'
  /** A partner secret that belongs to nobody (or to another id). */
  | 'wrong_secret'
  /** The join token DUO_TOKEN (or the owner token), missing or wrong, on a broker that requires it. */
  | 'join_token'
  /** The owner token, missing or wrong, where only the owner may act. */
  | 'owner_token'
  /** No valid console session cookie. */
  | 'console_session'
  /** A console login code that was spent, expired or never issued. */
  | 'login_code'
  /** The bearer token of /metrics (DUO_METRICS_TOKEN), missing or wrong. */
  | 'metrics_token';
const AUTH_FAILURE_REASONS: readonly AuthFailureReason[] = [
  'missing_secret',
  'wrong_secret',
  'join_token',
  'owner_token',
  'console_session',
  'login_code',
  'metrics_token',
];

/** What the gauges read at each scrape. */
export interface LiveCounts {
  /** Open WebSocket sessions of partners. */
  sessions(): number;
  /** REST long-polls waiting now. */
  longPolls(): number;
  /** Open /watch streams (web console, duo tail). */
  watchers(): number;
}

/** Commit times remembered for the delivery histogram; a message pushed later is not timed. */
const TIMED_MESSAGES = 10_000;
/** From a millisecond to a minute: live pushes take a few ms, a paused inbox catches up later. */
const DELIVERY_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];
const COMMIT_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5];

let processRegistry: Registry | undefined;

/** The process's own metrics, shared by every broker of the process. */
function processMetrics(): Registry {
  if (!processRegistry) {
    processRegistry = new Registry();
    collectDefaultMetrics({ register: processRegistry });
  }
  return processRegistry;
}

export class BrokerMetrics {
  private readonly registry = new Registry();
  private readonly messages = new Counter({
    name: 'duo_messages_total',
    help: 'Messages stored, by the transport they were sent over (retries of a stored send are not counted).',
    labelNames: ['transport'] as const,
    registers: [this.registry],
  });
  private readonly delivery = new Histogram({
    name: 'duo_delivery_seconds',
    help: 'Time from the commit of a message (or its arrival from another broker) to its push into a partner session.',
    buckets: DELIVERY_BUCKETS,
    registers: [this.registry],
  });
  private readonly commits = new Histogram({
    name: 'duo_db_commit_seconds',
    help: 'Time to commit one batch of writes (messages, read marks, push records) to the database.',
    buckets: COMMIT_BUCKETS,
    registers: [this.registry],
  });
  private readonly holds = new Counter({
    name: 'duo_loop_guard_holds_total',
    help: 'Conversations the loop guard of this broker held.',
    registers: [this.registry],
  });
  private readonly authFailures = new Counter({
    name: 'duo_auth_failures_total',
    help: 'Requests and WebSocket hellos refused for a missing or wrong credential, by reason.',
    labelNames: ['reason'] as const,
    registers: [this.registry],
  });
  private notificationLag: Histogram | undefined;
  /** When each recent message was committed (performance.now()), by id. */
  private readonly committedAt = new BoundedMap<number, number>(TIMED_MESSAGES);

  constructor() {
    // Every label value shows from the start at 0, so a rate() has a series before the first event.
    for (const transport of TRANSPORTS) this.messages.inc({ transport }, 0);
    for (const reason of AUTH_FAILURE_REASONS) this.authFailures.inc({ reason }, 0);
  }

  /** The gauges that read live state; called once the broker's parts exist. */
  watch(counts: LiveCounts): void {
    const gauge = (name: string, help: string, read: () => number) =>
      new Gauge({
        name,
        help,
        registers: [this.registry],
        collect() {
          this.set(read());
        },
      });
    gauge('duo_sessions', 'Open WebSocket sessions of partners on this broker.', counts.sessions);
    gauge('duo_long_polls', 'REST long-polls (GET /listen) waiting on this broker.', counts.longPolls);
    gauge('duo_watchers', 'Open watch streams (web console, duo tail) on this broker.', counts.watchers);
  }

  /** Team mode: the other brokers of the database, and how late their news arrives. */
  watchTeam(peers: () => number): void {
    new Gauge({
      name: 'duo_cluster_peers',
      help: 'Other brokers of the same database this broker hears from.',
      registers: [this.registry],
      collect() {
        this.set(peers());
      },
    });
    this.notificationLag = new Histogram({
      name: 'duo_cluster_notification_lag_seconds',
      help: "Time from another broker sending a notification to this broker applying it (on the cluster clock, the database's).",
      buckets: DELIVERY_BUCKETS,
      registers: [this.registry],
    });
  }

  /** A message sent over `transport` was stored. */
  stored(transport: Transport): void {
    this.messages.inc({ transport });
  }

  /** Starts timing a commit; call the result once it committed. */
  commitTimer(): () => void {
    const started = performance.now();
    return () => this.commits.observe((performance.now() - started) / 1000);
  }

  /** Message `id` was committed (or arrived from another broker) and goes to its recipients now. */
  committed(id: number): void {
    this.committedAt.set(id, performance.now());
  }

  /** Message `id` was pushed into a partner session. */
  pushed(id: number): void {
    const at = this.committedAt.get(id);
    if (at !== undefined) this.delivery.observe((performance.now() - at) / 1000);
  }

  held(): void {
    this.holds.inc();
  }

  authFailure(reason: AuthFailureReason): void {
    this.authFailures.inc({ reason });
  }

  /** A notification of another broker is applied here, `lagMs` after it was sent (cluster clock). */
  heardFromPeer(lagMs: number): void {
    // The clock correction is measured, not exact: a notification never arrives before it was sent.
    this.notificationLag?.observe(Math.max(0, lagMs) / 1000);
  }

  readonly contentType = this.registry.contentType;

  /** The Prometheus text exposition of the process and of this broker. */
  async text(): Promise<string> {
    return (await processMetrics().metrics()) + (await this.registry.metrics());
  }
}
