/**
 * `duo broker`: runs the broker in the foreground; `duo broker status` says whether one answers
 * and which process holds the database; `duo broker stop` stops that process (SIGTERM, the
 * orderly shutdown). The broker keeps its pid in a lock file next to its database, which is how
 * status and stop find it, however it was started.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { describeDbLocation, isPostgresUrl } from '../../shared/db-location.ts';
import { DEFAULT_BROKER_URL, DEFAULT_PORT, brokerLogPath, defaultDbPath } from '../../shared/paths.ts';
import { parse, UsageError, type CliContext, type Command, type Env } from '../command.ts';
import { splitBrokerUrls } from '../../client/endpoint.ts';
import { parseSamples, total, type Samples } from '../metrics-text.ts';

const STOP_TIMEOUT_MS = 10_000;

export const command: Command = {
  name: 'broker',
  summary: 'Start the broker',
  help: `Usage: duo broker [--port N] [--host ADDR] [--db FILE] [--token TOKEN] [--metrics-token TOKEN]
                  [--tls-cert FILE --tls-key FILE] [--allow-plain-http]
       duo broker status [--broker URL] [--db FILE] [--metrics-token TOKEN]
       duo broker stop [--db FILE]

Starts the Claude Duo broker in the foreground (partners and commands also start one by
themselves when none answers at a loopback BROKER_URL, unless DUO_AUTOSTART=0).
  --port   Port to listen on (BROKER_PORT, default ${DEFAULT_PORT})
  --host   Address to bind (BROKER_HOST, default 127.0.0.1; any other address needs a token
           and TLS, or --allow-plain-http)
  --db     SQLite database file (DUO_DB, default $XDG_DATA_HOME/claude-duo/duo.db), or a
           postgres:// URL: team mode, several brokers on one database
  --token  Access token every request must carry in X-Duo-Token (DUO_TOKEN)
  --metrics-token TOKEN  Bearer token for GET /metrics on a non-loopback address
                      (DUO_METRICS_TOKEN; loopback needs none; never the same as --token)
  --tls-cert FILE     PEM certificate chain: serve HTTPS and WSS (DUO_TLS_CERT; needs --tls-key)
  --tls-key FILE      PEM private key of that certificate (DUO_TLS_KEY)
  --allow-plain-http  Serve plain HTTP on a non-loopback address, for a trusted network or
                      behind a proxy that ends TLS (DUO_ALLOW_PLAIN_HTTP=1)

Clients trust a self-signed certificate when NODE_EXTRA_CA_CERTS names its PEM file in their
environment (set before they start).

status  whether a broker answers at BROKER_URL (--broker), its main figures from GET /metrics
        (with --metrics-token, or DUO_METRICS_TOKEN, for a broker beyond loopback), and the pid
        holding the database; exits 1 when none answers
stop    stops the broker that holds the database (--db): SIGTERM, then waits for it to exit`,
  async run(args, ctx) {
    const { values, positionals } = parse(args, {
      port: { type: 'string' },
      host: { type: 'string' },
      db: { type: 'string' },
      token: { type: 'string' },
      'metrics-token': { type: 'string' },
      'tls-cert': { type: 'string' },
      'tls-key': { type: 'string' },
      'allow-plain-http': { type: 'boolean' },
      broker: { type: 'string' },
    });
    const [action, ...extra] = positionals;
    if (extra.length > 0 || (action !== undefined && action !== 'status' && action !== 'stop'))
      throw new UsageError(`unexpected "${positionals.join(' ')}": the actions are status and stop.`);
    const dbPath = values.db || ctx.env.DUO_DB || defaultDbPath(ctx.env);
    if (action === 'stop' && isPostgresUrl(dbPath)) {
      ctx.err(
        'duo broker stop: a broker on PostgreSQL holds no lock file to find it by; stop it where it runs (Ctrl-C, or SIGTERM to its process).\n',
      );
      return 1;
    }
    if (action === 'status')
      return status(ctx, brokerUrlOf(ctx.env, values), dbPath, values['metrics-token'] || ctx.env.DUO_METRICS_TOKEN);
    if (action === 'stop') return stop(ctx, brokerUrlOf(ctx.env, values), dbPath);
    if (values.broker !== undefined) throw new UsageError('--broker is for status; use --port and --host to run one.');
    // Loaded here: status and stop never pay for Fastify and SQLite.
    const { runBroker } = await import('../../broker/main.ts');
    await runBroker({
      ...(values.port === undefined ? {} : { port: values.port }),
      ...(values.host === undefined ? {} : { host: values.host }),
      ...(values.db === undefined ? {} : { dbPath: values.db }),
      ...(values.token === undefined ? {} : { token: values.token }),
      ...(values['metrics-token'] === undefined ? {} : { metricsToken: values['metrics-token'] }),
      ...(values['tls-cert'] === undefined ? {} : { tlsCert: values['tls-cert'] }),
      ...(values['tls-key'] === undefined ? {} : { tlsKey: values['tls-key'] }),
      ...(values['allow-plain-http'] ? { allowPlainHttp: true } : {}),
    });
    return undefined;
  },
};

/**
 * --broker, else BROKER_URL, else the loopback address of --port / BROKER_PORT. Of a list of
 * brokers, the first: status and stop are about one broker.
 */
function brokerUrlOf(env: Env, values: { broker?: string; port?: string }): string {
  const given = splitBrokerUrls(values.broker || env.BROKER_URL || '')[0];
  if (given !== undefined) return given;
  const port = values.port || env.BROKER_PORT;
  return port ? `http://127.0.0.1:${port}` : DEFAULT_BROKER_URL;
}

async function status(
  ctx: CliContext,
  brokerUrl: string,
  dbPath: string,
  metricsToken: string | undefined,
): Promise<number> {
  const health = await healthOf(brokerUrl);
  const holder = lockHolder(dbPath);
  if (health) {
    ctx.out(
      `✓ A Duo broker answers at ${brokerUrl} (version ${health.version}, up ${uptime(health.uptimeSeconds)}).\n`,
    );
    ctx.out(await figures(brokerUrl, metricsToken));
    if (isPostgresUrl(dbPath)) {
      ctx.out(`  Team mode: brokers share ${describeDbLocation(dbPath)}.\n`);
      return 0;
    }
    ctx.out(
      holder === undefined
        ? `  No broker holds ${dbPath}: that one runs on another database.\n`
        : `  pid ${holder}, database ${dbPath}\n`,
    );
    ctx.out(`  Brokers started on demand log to ${brokerLogPath(ctx.env)}\n`);
    return 0;
  }
  ctx.out(`✗ No Duo broker answers at ${brokerUrl}.\n`);
  if (holder !== undefined)
    ctx.out(`  A broker (pid ${holder}) holds ${dbPath} but listens elsewhere: check BROKER_URL or --broker.\n`);
  else
    ctx.out(
      '  → Partners and commands start one by themselves when they need it (unless DUO_AUTOSTART=0); or run duo broker.\n',
    );
  return 1;
}

async function stop(ctx: CliContext, brokerUrl: string, dbPath: string): Promise<number> {
  const pid = lockHolder(dbPath);
  if (pid === undefined) {
    if (await healthOf(brokerUrl)) {
      ctx.err(
        `duo broker stop: a broker answers at ${brokerUrl}, but none holds ${dbPath}; pass the database it uses with --db, or stop it where it runs.\n`,
      );
      return 1;
    }
    ctx.out(`No Duo broker is running on ${dbPath}.\n`);
    return 0;
  }
  const commandLine = commandLineOf(pid);
  if (commandLine !== undefined && !/\bbroker\b/.test(commandLine)) {
    ctx.err(
      `duo broker stop: pid ${pid} holds ${dbPath}.lock but does not look like a Duo broker (${commandLine.slice(0, 120)}); not stopping it. Stop it yourself if it is one.\n`,
    );
    return 1;
  }
  try {
    process.kill(pid, 'SIGTERM');
  } catch (error) {
    ctx.err(`duo broker stop: cannot signal pid ${pid}: ${(error as Error).message}.\n`);
    return 1;
  }
  const deadline = Date.now() + STOP_TIMEOUT_MS;
  // Stopped once the lock is released (the orderly path) or the process is gone.
  while (lockHolder(dbPath) === pid && Date.now() < deadline) await sleep(100);
  if (lockHolder(dbPath) === pid) {
    ctx.err(`duo broker stop: pid ${pid} did not stop within ${STOP_TIMEOUT_MS / 1000} s; kill -9 ${pid} ends it.\n`);
    return 1;
  }
  ctx.out(`Stopped the Duo broker (pid ${pid}).\n`);
  return 0;
}

/** The pid in the database's lock file, when that process is alive. */
function lockHolder(dbPath: string): number | undefined {
  let pid: number;
  try {
    pid = Number.parseInt(readFileSync(`${dbPath}.lock`, 'utf8'), 10);
  } catch {
    return undefined;
  }
  if (!Number.isInteger(pid) || pid <= 0) return undefined;
  try {
    process.kill(pid, 0);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EPERM') return undefined;
  }
  return zombie(pid) ? undefined : pid;
}

/** An exited process nobody has reaped yet (a detached broker whose starter is gone) is not running. */
function zombie(pid: number): boolean {
  try {
    return /^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
}

function commandLineOf(pid: number): string | undefined {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' ').trim();
  } catch {
    // Not Linux: ask ps.
  }
  try {
    return execFileSync('ps', ['-o', 'args=', '-p', String(pid)], { encoding: 'utf8', timeout: 2_000 }).trim();
  } catch {
    return undefined;
  }
}

async function healthOf(brokerUrl: string): Promise<{ version: string; uptimeSeconds: number } | undefined> {
  try {
    const response = await fetch(`${brokerUrl}/health`, { signal: AbortSignal.timeout(2_000), redirect: 'error' });
    const body = (await response.json()) as { version?: unknown; uptimeSeconds?: unknown };
    if (!response.ok || typeof body.version !== 'string') return undefined;
    return { version: body.version, uptimeSeconds: Number(body.uptimeSeconds) || 0 };
  } catch {
    return undefined;
  }
}

/** The main figures of the broker's GET /metrics, a line each, or why they cannot be read. */
async function figures(brokerUrl: string, metricsToken: string | undefined): Promise<string> {
  let samples: Samples;
  try {
    const response = await fetch(`${brokerUrl}/metrics`, {
      signal: AbortSignal.timeout(2_000),
      redirect: 'error',
      headers: metricsToken === undefined ? {} : { authorization: `Bearer ${metricsToken}` },
    });
    const text = await response.text();
    if (!response.ok) {
      const reason = (JSON.parse(text) as { error?: unknown }).error;
      return `  Metrics: ${typeof reason === 'string' ? reason : `GET /metrics answered ${response.status}`}\n`;
    }
    samples = parseSamples(text);
  } catch (error) {
    return `  Metrics: cannot be read (${(error as Error).message}).\n`;
  }
  const n = (name: string) => total(samples, name) ?? 0;
  const by = (transport: string) => samples.get(`duo_messages_total{transport="${transport}"}`) ?? 0;
  const plural = (count: number, word: string) => `${count} ${word}${count === 1 ? '' : 's'}`;
  const pushes = n('duo_delivery_seconds_count');
  const lines = [
    `Messages: ${n('duo_messages_total')} stored since start (WebSocket ${by('ws')}, REST ${by('rest')}, console ${by('console')})` +
      (pushes > 0
        ? `; ${pushes} pushed, ${((n('duo_delivery_seconds_sum') / pushes) * 1000).toFixed(1)} ms on average`
        : ''),
    `Open now: ${plural(n('duo_sessions'), 'session')}, ${plural(n('duo_long_polls'), 'long-poll')}, ${plural(n('duo_watchers'), 'watcher')}`,
    `Loop-guard holds: ${n('duo_loop_guard_holds_total')}; failed authentications: ${n('duo_auth_failures_total')}`,
  ];
  const peers = total(samples, 'duo_cluster_peers');
  if (peers !== undefined) lines.push(`Team: ${plural(peers, 'other broker')} heard`);
  return lines.map((line) => `  ${line}\n`).join('');
}

function uptime(seconds: number): string {
  if (seconds < 120) return `${Math.round(seconds)} s`;
  if (seconds < 7200) return `${Math.round(seconds / 60)} min`;
  return `${Math.round(seconds / 3600)} h`;
}
