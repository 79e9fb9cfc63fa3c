/**
 * GET /metrics: the Prometheus text exposition. On a loopback bind it is open, like /health: only
 * this machine can reach it. Beyond loopback it needs a bearer token of its own
 * (DUO_METRICS_TOKEN), so a scraper holds no credential that could read or send messages; without
 * that token configured, it answers with how to turn it on. Failed tokens are counted and rate
 * limited per address like every other credential.
 */
import { timingSafeEqual } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { isLoopbackHost, type BrokerConfig } from '../shared/config.ts';
import { DuoError } from '../shared/errors.ts';
import type { BrokerMetrics } from './metrics.ts';
import type { RateLimiter } from './rate-limit.ts';
import { bearerSecret, throttle } from './rest-auth.ts';

export interface MetricsRouteDeps {
  config: Pick<BrokerConfig, 'host' | 'metricsToken'>;
  metrics: BrokerMetrics;
  limiter: RateLimiter;
  /** Failed authentications per client address (shared with the partner routes). */
  authFailures: RateLimiter;
}

export async function registerMetricsRoute(app: FastifyInstance, deps: MetricsRouteDeps): Promise<void> {
  const { config, metrics } = deps;
  const open = isLoopbackHost(config.host);
  const token = config.metricsToken === undefined ? undefined : Buffer.from(config.metricsToken);

  app.get('/metrics', async (request, reply) => {
    throttle(deps.limiter, `metrics:${request.ip}`);
    if (!open) {
      if (token === undefined) {
        throw new DuoError(
          'token_required',
          `Metrics of a broker bound to ${config.host} need a token of their own: start the broker with DUO_METRICS_TOKEN (or --metrics-token) set to a long random string, and scrape with "Authorization: Bearer <that token>". It is neither DUO_TOKEN nor the owner token.`,
        );
      }
      const given = Buffer.from(bearerSecret(request) ?? '');
      if (given.length !== token.length || !timingSafeEqual(given, token)) {
        metrics.authFailure('metrics_token');
        throttle(deps.authFailures, request.ip, 'attempts with a missing or wrong metrics token from this address');
        throw new DuoError(
          'token_required',
          'GET /metrics needs "Authorization: Bearer <DUO_METRICS_TOKEN>" (the metrics token the broker was started with).',
        );
      }
    }
    return reply.type(metrics.contentType).send(await metrics.text());
  });
}
