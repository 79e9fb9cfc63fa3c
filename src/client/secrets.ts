/**
 * The per-user secrets file (`$XDG_CONFIG_HOME/claude-duo/secrets.json`, mode 0600, directory
 * 0700). It lives outside every project so no secret is ever committed or shown to a model.
 *
 * Shape: brokers keyed by normalized broker URL; per broker, the partners this user owns
 * (id → secret) and which partner id each project folder uses (real path → id), so the CLI and
 * hooks can act as the same identity the partner registered.
 *
 * Writes go to a temporary file in the same directory and are renamed over the old one, so a
 * crash never leaves a half-written file. Each read-change-write holds a lock file, so two
 * processes registering at the same moment cannot drop each other's secret (shown only once).
 */
import { closeSync, fsyncSync, openSync, readFileSync, renameSync, rmSync, statSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';
import { crypto } from '../shared/lazy-builtins.ts';
import { privateDir } from '../shared/private-files.ts';
import { DuoError } from '../shared/errors.ts';
import { splitBrokerUrls } from './endpoint.ts';

export interface PartnerRecord {
  secret: string;
  /** The PARTNER_NAME last sent to the broker, so a name chosen with register(name) is not overwritten on restart. */
  envName?: string;
}

interface BrokerRecord {
  partners: Record<string, PartnerRecord>;
  projects: Record<string, string>;
}

interface SecretsFile {
  version: 1;
  brokers: Record<string, BrokerRecord>;
}

// Checked by hand, not with zod: every hook reads this file, and loading zod would cost a hook
// more than all its own work (see the start-up rows of `npm run bench`).
const isRecord = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/** Each value of `value` (an object, or absent for none) when all pass `check`. */
function recordOf<T>(value: unknown, check: (entry: unknown) => T | undefined): Record<string, T> | undefined {
  if (value === undefined) return {};
  if (!isRecord(value)) return undefined;
  // No prototype: a key named __proto__ stays a key.
  const result = Object.create(null) as Record<string, T>;
  for (const [key, entry] of Object.entries(value)) {
    const checked = check(entry);
    if (checked === undefined) return undefined;
    result[key] = checked;
  }
  return result;
}

function partnerRecord(value: unknown): PartnerRecord | undefined {
  if (!isRecord(value) || typeof value.secret !== 'string' || value.secret === '') return undefined;
  if (value.envName !== undefined && typeof value.envName !== 'string') return undefined;
  return value.envName === undefined ? { secret: value.secret } : { secret: value.secret, envName: value.envName };
}

function brokerRecord(value: unknown): BrokerRecord | undefined {
  if (!isRecord(value)) return undefined;
  const partners = recordOf(value.partners, partnerRecord);
  const projects = recordOf(value.projects, (id) => (typeof id === 'string' ? id : undefined));
  return partners && projects ? { partners, projects } : undefined;
}

/** The file's contents when they have the expected shape (unknown fields are dropped). */
export function secretsFileOf(value: unknown): SecretsFile | undefined {
  if (!isRecord(value) || value.version !== 1) return undefined;
  const brokers = recordOf(value.brokers, brokerRecord);
  return brokers ? { version: 1, brokers } : undefined;
}

/**
 * The key a broker URL is stored under: scheme, host, port and path, without a trailing slash.
 * A list of brokers (one team sharing a database, so one secret is valid on all of them) is
 * stored under the keys of its entries joined by commas, whichever of them is in use; a single
 * URL keeps the key it always had.
 */
export function brokerKey(brokerUrl: string): string {
  return splitBrokerUrls(brokerUrl)
    .map((entry) => {
      const url = new URL(entry);
      return `${url.protocol}//${url.host}${url.pathname.replace(/\/+$/, '')}`;
    })
    .join(',');
}

const LOCK_WAIT_MS = 3_000;
const LOCK_STALE_MS = 10_000;

export class SecretStore {
  readonly filePath: string;

  constructor(filePath: string) {
    this.filePath = filePath;
  }

  /** The secret this user holds for `partnerId` on that broker, if any. */
  getSecret(brokerUrl: string, partnerId: string): string | undefined {
    return this.getPartner(brokerUrl, partnerId)?.secret;
  }

  getPartner(brokerUrl: string, partnerId: string): PartnerRecord | undefined {
    return this.read().brokers[brokerKey(brokerUrl)]?.partners[partnerId];
  }

  /** Stores (or replaces) the record of `partnerId`; `secret` is required the first time. */
  savePartner(brokerUrl: string, partnerId: string, update: Partial<PartnerRecord>): void {
    this.update((file) => {
      const broker = brokerEntry(file, brokerUrl);
      const merged = { ...broker.partners[partnerId], ...update };
      if (!merged.secret) throw new DuoError('bad_request', `No secret to store for partner "${partnerId}".`);
      broker.partners[partnerId] = { ...merged, secret: merged.secret };
    });
  }

  saveSecret(brokerUrl: string, partnerId: string, secret: string): void {
    this.savePartner(brokerUrl, partnerId, { secret });
  }

  forgetPartner(brokerUrl: string, partnerId: string): void {
    this.update((file) => {
      const broker = brokerEntry(file, brokerUrl);
      delete broker.partners[partnerId];
      for (const [project, id] of Object.entries(broker.projects))
        if (id === partnerId) delete broker.projects[project];
    });
  }

  /** The partner id a project folder (its real path) registered as on that broker. */
  getProjectPartner(brokerUrl: string, projectPath: string): string | undefined {
    return this.read().brokers[brokerKey(brokerUrl)]?.projects[projectPath];
  }

  setProjectPartner(brokerUrl: string, projectPath: string, partnerId: string): void {
    this.update((file) => {
      brokerEntry(file, brokerUrl).projects[projectPath] = partnerId;
    });
  }

  private read(): SecretsFile {
    let text: string;
    try {
      text = readFileSync(this.filePath, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return { version: 1, brokers: {} };
      throw new DuoError(
        'internal',
        `Cannot read the Duo secrets file ${this.filePath}: ${(error as Error).message}.`,
        { cause: error },
      );
    }
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch (error) {
      throw new DuoError('internal', `The Duo secrets file ${this.filePath} is not valid JSON; fix or delete it.`, {
        cause: error,
      });
    }
    const parsed = secretsFileOf(json);
    if (!parsed) {
      throw new DuoError(
        'internal',
        `The Duo secrets file ${this.filePath} has an unexpected shape; fix or delete it.`,
      );
    }
    return parsed;
  }

  private update(change: (file: SecretsFile) => void): void {
    const dir = dirname(this.filePath);
    privateDir(dir);
    this.withLock(() => {
      const file = this.read();
      change(file);
      this.write(file);
    });
  }

  /** Runs `work` holding `<file>.lock`; a lock older than LOCK_STALE_MS was left by a crash. */
  private withLock(work: () => void): void {
    const lock = `${this.filePath}.lock`;
    const deadline = Date.now() + LOCK_WAIT_MS;
    for (;;) {
      try {
        closeSync(openSync(lock, 'wx', 0o600));
        break;
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'EEXIST') {
          throw new DuoError(
            'internal',
            `Cannot lock the Duo secrets file ${this.filePath}: ${(error as Error).message}.`,
            { cause: error },
          );
        }
        const since = statSync(lock, { throwIfNoEntry: false })?.mtimeMs ?? Date.now();
        if (Date.now() - since > LOCK_STALE_MS) {
          rmSync(lock, { force: true });
          continue;
        }
        if (Date.now() > deadline) {
          throw new DuoError(
            'internal',
            `The Duo secrets file is locked by another process (${lock}); retry, or delete that file if no duo process is running.`,
          );
        }
        // A synchronous pause: the store's API is synchronous and the wait is a few milliseconds.
        Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 5);
      }
    }
    try {
      work();
    } finally {
      rmSync(lock, { force: true });
    }
  }

  private write(file: SecretsFile): void {
    const temp = `${this.filePath}.${process.pid}.${crypto().randomBytes(4).toString('hex')}.tmp`;
    try {
      const fd = openSync(temp, 'wx', 0o600);
      try {
        writeSync(fd, `${JSON.stringify(file, null, 2)}\n`);
        fsyncSync(fd);
      } finally {
        closeSync(fd);
      }
      renameSync(temp, this.filePath);
    } catch (error) {
      rmSync(temp, { force: true });
      throw new DuoError(
        'internal',
        `Cannot write the Duo secrets file ${this.filePath}: ${(error as Error).message}.`,
        { cause: error },
      );
    }
  }
}

function brokerEntry(file: SecretsFile, brokerUrl: string): BrokerRecord {
  const key = brokerKey(brokerUrl);
  file.brokers[key] ??= { partners: {}, projects: {} };
  return file.brokers[key];
}
