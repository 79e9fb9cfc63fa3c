/**
 * Every limit and default of the wire contract and the broker, written once. Config defaults,
 * schemas, error sentences and docs/operations.md quote these names; nothing restates the numbers.
 */

const KiB = 1024;
const MiB = 1024 * KiB;

// ---------------------------------------------------------------- what one request may carry

/** Largest REST body and largest WebSocket frame, in bytes. */
export const MAX_BODY_BYTES = 256 * KiB;
/** Largest message text, in bytes of UTF-8. */
export const MAX_CONTENT_BYTES = 64 * KiB;
/**
 * Largest set of request headers (request line included) the broker answers, in bytes; larger
 * ones get 431, after the Host and Origin checks.
 */
export const MAX_HEADER_BYTES = 16 * KiB;
/**
 * Node's HTTP parser refuses headers past this before any check can run (431 too, in the same
 * envelope). Above MAX_HEADER_BYTES, so that a foreign Host with big headers still gets 421.
 */
export const HEADER_PARSER_CEILING_BYTES = 4 * MAX_HEADER_BYTES;
export const MAX_NAME_LENGTH = 100;
export const MAX_STATUS_LENGTH = 200;
/** Most participants named when a group is created. */
export const MAX_GROUP_SIZE = 100;
/** Most members a group has: its creator and MAX_GROUP_SIZE participants. A full group takes no one new. */
export const MAX_GROUP_MEMBERS = MAX_GROUP_SIZE + 1;
/** Longest `clientMsgId`, the sender's own key that makes a retried send count once. */
export const MAX_CLIENT_MSG_ID_LENGTH = 128;
/** Longest conversation id accepted anywhere (a direct id of two 64-character ids fits). */
export const MAX_CONVERSATION_ID_LENGTH = 140;
export const MAX_PROJECT_PATH_LENGTH = 4096;
/** Longest secret a hello may carry (real ones are 43 characters). */
export const MAX_SECRET_LENGTH = 200;
/** Longest `ref` a frame may carry for its reply to echo. */
export const MAX_REF_LENGTH = 64;
/** Longest `client` label in a hello (what software is connecting). */
export const MAX_CLIENT_LABEL_LENGTH = 100;

// ---------------------------------------------------------------- slow or silent clients

/** Headers must arrive within this; cuts off clients that trickle them (slowloris). */
export const HEADERS_TIMEOUT_MS = 10_000;
/** The whole request must arrive within this. Long-poll replies are not limited by it. */
export const REQUEST_TIMEOUT_MS = 30_000;
/** How often Node checks open connections against the two timeouts above. */
export const CONNECTIONS_CHECK_MS = 1_000;
/** A new WebSocket must say hello within this. */
export const HELLO_TIMEOUT_MS = 5_000;
/** The broker pings every socket this often; one that missed the previous ping is terminated. */
export const HEARTBEAT_MS = 15_000;

// ---------------------------------------------------------------- floods

/** Requests or frames a second per partner (or per address before it authenticates). */
export const RATE_LIMIT_PER_SECOND = 50;
/** How many may come at once before the rate applies. */
export const RATE_LIMIT_BURST = 200;
/** Failed authentications (missing or wrong secret) a second per client address, REST and WebSocket. */
export const AUTH_FAILURES_PER_SECOND = 5;
/** How many may fail at once before that rate applies; beyond it they get 429 instead of 401. */
export const AUTH_FAILURE_BURST = 20;
/** How often full rate-limit buckets are dropped, so the map does not grow without end. */
export const RATE_LIMIT_SWEEP_MS = 60_000;
/** Rate-limited frames after which a socket is closed instead of answered, unless it paused. */
export const RATE_LIMIT_STRIKES = 100;
/** A socket that sent nothing refused for this long has its count of refused frames cleared. */
export const RATE_LIMIT_STRIKE_PAUSE_MS = 1_000;

// ---------------------------------------------------------------- pushing to sockets

/** Past this many unsent bytes on a socket, the broker stops pushing until it drains. */
export const MAX_BUFFERED_BYTES = 1 * MiB;
/** How often a congested socket is checked for having drained. */
export const DRAIN_CHECK_MS = 20;
/** Messages read from the store per page when a session catches up. */
export const PUSH_PAGE_SIZE = 256;

// ---------------------------------------------------------------- storage

/** Prepared statements kept by SQL text. */
export const STATEMENT_CACHE_SIZE = 256;
/** How long a statement waits for a lock held by another process (it blocks the event loop). */
export const BUSY_TIMEOUT_MS = 250;
/** The Retry-After of a refusal because another process holds the database lock, in seconds. */
export const BUSY_RETRY_AFTER_SECONDS = 1;
/** Connections in a broker's PostgreSQL pool (team mode). */
export const PG_POOL_SIZE = 10;
/** How long opening a PostgreSQL connection may take before the broker reports the database unreachable. */
export const PG_CONNECT_TIMEOUT_MS = 5_000;
/**
 * PostgreSQL ends a broker's session left idle inside a transaction this long: a broker that lost
 * its network mid-transaction would otherwise hold the write-order lock, stalling every broker of
 * the team, until the server's TCP keepalive noticed (hours by default).
 */
export const PG_IDLE_IN_TRANSACTION_MS = 5_000;
/** How often each broker of a team (several on one PostgreSQL database) says it is alive. */
export const CLUSTER_BEAT_MS = 2_000;
/** A broker of the team not heard from for this long is gone: its partners go offline. */
export const CLUSTER_PEER_TIMEOUT_MS = 7_000;
/** How often a broker tells the others the rate-limit tokens it took. */
export const CLUSTER_RATE_REPORT_MS = 100;
/** On shutdown, how long a broker waits for what the others said to finish applying. */
export const CLUSTER_STOP_WAIT_MS = 2_000;
/** A PostgreSQL query that has not answered within this is abandoned (a dead server, a lost network). */
export const PG_QUERY_TIMEOUT_MS = 30_000;
/** Idle PostgreSQL connections are probed by TCP keepalive after this long, so a silent failure is found. */
export const PG_KEEPALIVE_DELAY_MS = 10_000;
/** Longest wait between attempts to re-open the connection that listens to the other brokers. */
export const CLUSTER_RECONNECT_MAX_MS = 5_000;
/**
 * A cluster notification sent longer ago than this (by the database's clock) is refused as a
 * possible replay: genuine ones arrive within milliseconds of their commit.
 */
export const CLUSTER_REPLAY_WINDOW_MS = 30_000;
/**
 * A broker that starts (or reconnects) listening accepts notifications sent at most this long
 * before: a transaction that began just before may still commit after.
 */
export const CLUSTER_LISTEN_MARGIN_MS = 5_000;
/**
 * How far behind the newest sequence number of a sender one of its notifications may arrive
 * (transactions commit in a different order than they started): older ones are refused.
 */
export const CLUSTER_REORDER_LIMIT = 4_096;
/** How often a broker measures the difference between its clock and the database's. */
export const CLUSTER_CLOCK_SYNC_MS = 60_000;
/** Most writes committed in one transaction. */
export const WRITE_BATCH_MAX = 512;
/** Changes to a partner's unread counts within this window share one CLAUDE.md update. */
export const NOTICE_DELAY_MS = 250;

// ---------------------------------------------------------------- reading

/** REST long-poll wait when `timeout` is not given, in seconds. */
export const DEFAULT_LISTEN_SECONDS = 30;
/** Longest REST long-poll, in seconds (the broker's `maxListenSeconds` default). */
export const MAX_LISTEN_SECONDS = 3600;
/** REST long-polls open at once per partner; a newer one ends the oldest, which returns empty. */
export const MAX_LONG_POLLS_PER_PARTNER = 8;
export const DEFAULT_LISTEN_LIMIT = 100;
export const MAX_LISTEN_LIMIT = 1000;
export const DEFAULT_HISTORY_LIMIT = 50;
export const MAX_HISTORY_LIMIT = 500;

/** `bytes` as the documentation spells it: "64 KiB", "1 MiB". */
export function formatBytes(bytes: number): string {
  if (bytes % MiB === 0) return `${bytes / MiB} MiB`;
  return bytes % KiB === 0 ? `${bytes / KiB} KiB` : `${bytes} bytes`;
}
