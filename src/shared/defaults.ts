/**
 * Limits and defaults of the clients (the partner and the `duo` commands), each stated once.
 * Anything a user can change has a config field whose default comes from here; the rest are
 * bounds that keep a long-running partner's memory flat.
 *
 * The listen timeouts, the history page size and the heartbeat are the broker's contract and
 * live in limits.ts.
 */

// ---------------------------------------------------------------- talking to the broker

/** Every REST call and WebSocket request of the partner gives up after this long: tools fail fast. */
export const PARTNER_REQUEST_TIMEOUT_MS = 3_000;
/** The `duo` commands run once and a human waits for them: a little more patience. */
export const CLI_REQUEST_TIMEOUT_MS = 5_000;
/** Reconnect backoff: full jitter between 0 and min(cap, base · 2^attempt). */
export const RECONNECT_BASE_MS = 250;
export const RECONNECT_CAP_MS = 10_000;
/**
 * A WebSocket session counts as working, so the reconnect backoff and the failover round start
 * over, only once it has stayed open this long: brokers that welcome and close at once are then
 * retried with growing waits, not in a loop without pause.
 */
export const SESSION_STABLE_MS = 5_000;
/** Registration retries back off this many times slower than reconnects (each is a full round trip). */
export const REGISTER_RETRY_FACTOR = 4;
/** This many heartbeats without a frame or a ping means the path is dead, even if TCP has not noticed. */
export const SILENCE_HEARTBEATS = 2.5;
/** How long after a refused ack (rate limit, busy database) every ack is sent again. */
export const ACK_RESEND_MS = 1_000;
/** Largest frame the client accepts from the broker. */
export const MAX_FRAME_BYTES = 1024 * 1024;
/** How long a closing socket may take to say goodbye before it is cut. */
export const SOCKET_CLOSE_MS = 1_000;

// ---------------------------------------------------------------- the partner's inbox

/** Soft limits: reaching one asks the broker to pause; below half of both it resumes. */
export const INBOX_MAX_MESSAGES = 1_000;
export const INBOX_MAX_BYTES = 8 * 1024 * 1024;
/**
 * Room past the soft limits for what the broker sent before it saw `pause` (it pushes in pages
 * of 256). Only a broker that ignores `pause` reaches the hard limit, where messages are dropped
 * and asked for again.
 */
export const INBOX_HARD_SLACK_MESSAGES = 512;
export const INBOX_HARD_SLACK_BYTES = 32 * 1024 * 1024;
/** Bytes a held message is counted as beyond its text (ids, names, time). */
export const INBOX_MESSAGE_OVERHEAD_BYTES = 128;

// ---------------------------------------------------------------- bounded memory

/** Message ids remembered to drop a repeat, beyond the ones still held. */
export const REMEMBERED_MESSAGE_IDS = 10_000;
/** Message ids remembered as already pushed to the model as channel events. */
export const REMEMBERED_PUSHES = 10_000;
/** Sends with an unknown outcome whose clientMsgId is kept, so a retry is not stored twice. */
export const REMEMBERED_UNSETTLED_SENDS = 100;

// ---------------------------------------------------------------- tools and commands

/** At most this many messages per `listen` result, so one result stays readable. */
export const LISTEN_BATCH = 50;
/** How often a waiting `listen` sends an MCP progress notification. */
export const PROGRESS_INTERVAL_MS = 10_000;
/** The `history` tool and `duo history`: how many of the newest messages by default. */
export const HISTORY_DEFAULT_LIMIT = 20;
/** The most the `history` tool shows at once (a model's context is precious). */
export const HISTORY_TOOL_MAX_LIMIT = 200;
/** `duo tail`: messages of backlog shown first, and how often it looks for new ones. */
export const TAIL_BACKLOG_LINES = 10;
export const TAIL_INTERVAL_MS = 1_000;
/** The shortest `duo tail --interval` (one request per conversation that moved, each time). */
export const TAIL_MIN_INTERVAL_MS = 100;
/** After stdin closes or a signal arrives, the partner process is gone within this long. */
export const PARTNER_EXIT_DEADLINE_MS = 3_000;

// ---------------------------------------------------------------- Claude Code hooks

/** The Stop hook's waiter ends after this long (`DUO_HOOK_WAIT_SECONDS` overrides it); the next Stop starts another. */
export const HOOK_WAIT_LIFETIME_MS = 30 * 60_000;
/** Beyond its lifetime, the seconds Claude Code gives the waiter before it kills it (the hook's `timeout`). */
export const HOOK_WAIT_TIMEOUT_MARGIN_SECONDS = 60;
/** Each long-poll of the waiter, in seconds: at most the broker's longest listen (halved while a broker refuses it). */
export const HOOK_WAIT_POLL_SECONDS = 60;
/** How often the waiter checks that its Claude Code process is still there: an exiting session may leave it behind. */
export const HOOK_PARENT_CHECK_MS = 5_000;
/** A waiter whose broker is down tries again after a backoff between these bounds. */
export const HOOK_RETRY_BASE_MS = 1_000;
export const HOOK_RETRY_CAP_MS = 30_000;
/** The PostToolUse hook looks at the broker at most this often per session (`DUO_HOOK_LOOK_SECONDS` overrides it). */
export const HOOK_LOOK_INTERVAL_MS = 2_000;
/** Most characters a hook hands the model at once: Claude Code swaps longer hook output for a file reference. */
export const HOOK_OUTPUT_MAX_CHARS = 8_000;
/** A message whose envelope is longer than this is announced (call listen) instead of shown. */
export const HOOK_MESSAGE_MAX_CHARS = 4_000;
/** Each broker request of a digest hook (PostToolUse, UserPromptSubmit) gives up after this long. */
export const HOOK_REQUEST_TIMEOUT_MS = 1_500;
