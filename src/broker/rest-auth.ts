/**
 * Who a REST request acts as, settled before its body is read. The hook runs at `onRequest`, so
 * a request with a missing or wrong secret costs one hash and one indexed lookup, never a body
 * upload parsed into JSON. Failures are counted per client address: past a small burst they get
 * 429 with Retry-After instead of 401. A request with the right secret is never held back by
 * someone else's failures (every local partner shares 127.0.0.1); it is rate limited per partner.
 */
import type { FastifyRequest } from 'fastify';
import { DuoError } from '../shared/errors.ts';
import type { Auth } from './auth.ts';
import type { BrokerMetrics } from './metrics.ts';
import type { RateLimiter } from './rate-limit.ts';

export function bearerSecret(request: FastifyRequest): string | undefined {
  const header = request.headers.authorization;
  const match = header === undefined ? null : /^Bearer\s+(\S+)\s*$/i.exec(header);
  return match?.[1];
}

/** Takes a token from `key`'s bucket, or refuses with 429 and the wait. */
export function throttle(limiter: RateLimiter, key: string, what = 'requests'): void {
  const wait = limiter.take(key);
  if (wait > 0) throw new DuoError('rate_limited', `Too many ${what}; wait ${wait} s and retry.`, { retryAfter: wait });
}

export class RestAuth {
  private readonly partners = new WeakMap<FastifyRequest, string>();

  constructor(
    private readonly auth: Pick<Auth, 'authenticate'>,
    /** Every request and frame, per partner (or per address before a partner is known). */
    private readonly limiter: RateLimiter,
    /** Failed authentications, keyed by client address (shared with WebSocket hellos). */
    private readonly failures: RateLimiter,
    private readonly metrics: Pick<BrokerMetrics, 'authFailure'>,
  ) {}

  /** onRequest hook of the routes that act as a partner: the secret, then the partner's rate. */
  readonly authenticate = async (request: FastifyRequest): Promise<void> => {
    let partnerId: string;
    const secret = bearerSecret(request);
    try {
      partnerId = (await this.auth.authenticate(secret)).id;
    } catch (error) {
      if (error instanceof DuoError && error.code === 'unauthorized') {
        this.metrics.authFailure(secret === undefined ? 'missing_secret' : 'wrong_secret');
        this.countFailure(request.ip);
      }
      throw error;
    }
    throttle(this.limiter, `partner:${partnerId}`);
    this.partners.set(request, partnerId);
  };

  /** onRequest hook of /register, which has no partner yet: rate limited per address. */
  readonly limitAddress = async (request: FastifyRequest): Promise<void> => {
    throttle(this.limiter, `ip:${request.ip}`);
  };

  /** The partner an authenticated request acts as. */
  partnerId(request: FastifyRequest): string {
    const id = this.partners.get(request);
    if (id === undefined) throw new Error(`${request.url} was routed without the authentication hook`);
    return id;
  }

  /** Counts a failed authentication from `address`; past the burst, the refusal is a 429. */
  private countFailure(address: string): void {
    throttle(this.failures, address, 'attempts with a missing or wrong secret from this address');
  }
}
