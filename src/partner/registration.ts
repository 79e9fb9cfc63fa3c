/**
 * The partner's identity over its lifetime: registered at start-up in the background (retrying
 * with backoff while the broker is unreachable), again on `register` (a new display name, or
 * taking the id back from another session), and again when the broker stops accepting the
 * secret (its database was replaced). Tools wait for a registration in flight rather than fail.
 */
import { DuoError, isTransient } from '../shared/errors.ts';
import type { Logger } from '../shared/log.ts';
import { Backoff } from '../client/backoff.ts';
import { registerIdentity, type Identity, type IdentityDeps } from '../client/identity.ts';

export interface RegistrationOptions extends IdentityDeps {
  logger: Logger;
  backoff: Backoff;
  /** Called after every successful registration, with the identity held before it. */
  onRegistered: (identity: Identity, previous: Identity | undefined) => void;
  /** Called when the outcome changed (registered, failed, forgotten). */
  onChange: () => void;
}

export class Registration {
  private readonly options: RegistrationOptions;
  private identity: Identity | undefined;
  private inFlight: Promise<Identity> | undefined;
  private lastFailure: DuoError | undefined;
  private retryTimer: NodeJS.Timeout | undefined;
  private closed = false;

  constructor(options: RegistrationOptions) {
    this.options = options;
  }

  /** The identity registered last, if the broker still accepts it. */
  get current(): Identity | undefined {
    return this.identity;
  }

  /** Why the last attempt failed, while there is no identity. */
  get failure(): DuoError | undefined {
    return this.lastFailure;
  }

  /** Registers now, or waits for the registration already in flight when nothing changes. */
  async register(name?: string): Promise<Identity> {
    if (this.inFlight && name === undefined) await this.inFlight.catch(() => undefined);
    const { config, store, client } = this.options;
    const attempt = registerIdentity({ config, store, client }, name === undefined ? {} : { name });
    this.inFlight = attempt;
    let identity: Identity;
    try {
      identity = await attempt;
    } catch (error) {
      this.lastFailure = error instanceof DuoError ? error : new DuoError('internal', String(error));
      this.options.onChange();
      throw this.lastFailure;
    } finally {
      if (this.inFlight === attempt) this.inFlight = undefined;
    }
    this.clearRetry();
    this.lastFailure = undefined;
    this.options.backoff.reset();
    const previous = this.identity;
    this.identity = identity;
    this.options.logger.info(
      { partnerId: identity.partnerId, created: identity.created, fallback: identity.fallback },
      'registered',
    );
    this.options.onRegistered(identity, previous);
    this.options.onChange();
    return identity;
  }

  /** Waits for a registration in flight, if any, without failing. */
  async settled(): Promise<void> {
    await this.inFlight?.catch(() => undefined);
  }

  /** Registers in the background, retrying with backoff while the broker is unreachable. */
  inBackground(): void {
    void this.tryInBackground();
  }

  /** The broker no longer accepts the secret: drop the identity and register again soon. */
  forget(why: DuoError): void {
    if (this.closed) return;
    this.identity = undefined;
    this.lastFailure = why;
    this.retrySoon();
    this.options.onChange();
  }

  close(): void {
    this.closed = true;
    this.clearRetry();
  }

  private async tryInBackground(): Promise<void> {
    if (this.closed) return;
    try {
      await this.register();
    } catch (error) {
      if (this.closed) return;
      if (!isTransient(error)) {
        this.options.logger.error({ error: (error as Error).message }, 'registration refused');
        return;
      }
      const delayMs = this.retrySoon();
      this.options.logger.warn(
        { error: (error as Error).message, delayMs },
        'broker unreachable; will retry registration',
      );
    }
  }

  private retrySoon(): number {
    this.clearRetry();
    const delay = this.options.backoff.next();
    this.retryTimer = setTimeout(() => void this.tryInBackground(), delay);
    return delay;
  }

  private clearRetry(): void {
    clearTimeout(this.retryTimer);
    this.retryTimer = undefined;
  }
}
