/**
 * Structured logs and metrics (Powertools for AWS Lambda). Logs never carry a token, a password or a key:
 * call sites log outcomes and error classes only.
 */
import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import type { AuthEvents } from './core/sessions.js';

export interface Observability {
  logger: Logger;
  metrics: Metrics;
  /** Counts an event in memory (cheap: no I/O on the hot path). */
  count(name: string): void;
  /** Publishes the counts (one EMF line to stdout). */
  flush(): void;
  /** Publishes if `intervalMs` have passed since the last publish: for the authorizer's hot path. */
  flushIfDue(nowMs: number, intervalMs?: number): void;
}

export function createObservability(service: string, opts: { publishMetrics?: boolean } = {}): Observability {
  const logger = new Logger({ serviceName: service });
  const metrics = new Metrics({ namespace: process.env.POWERTOOLS_METRICS_NAMESPACE ?? 'tokengate', serviceName: service });
  const counts = new Map<string, number>();
  let lastFlush = 0;
  const flush = () => {
    if (counts.size === 0) return;
    if (opts.publishMetrics === false) return void counts.clear();
    for (const [name, n] of counts) metrics.addMetric(name, MetricUnit.Count, n);
    counts.clear();
    metrics.publishStoredMetrics();
  };
  return {
    logger,
    metrics,
    count: (name) => counts.set(name, (counts.get(name) ?? 0) + 1),
    flush,
    flushIfDue: (now, interval = 60_000) => {
      if (now - lastFlush >= interval) {
        lastFlush = now;
        flush();
      }
    },
  };
}

/** Domain events → metrics. */
export function authEventsTo(o: Pick<Observability, 'count'>): AuthEvents {
  return {
    loginSucceeded: () => o.count('LoginSuccess'),
    loginFailed: (reason) => o.count(reason === 'throttled' ? 'LoginThrottled' : 'LoginFailure'),
    loginUserCeilingReached: () => o.count('LoginUserCeilingReached'),
    refreshed: () => o.count('Refresh'),
    refreshRejected: () => o.count('RefreshRejected'),
    reuseDetected: () => o.count('RefreshReuseDetected'),
    loggedOut: (scope) => o.count(scope === 'all' ? 'LogoutAll' : 'Logout'),
  };
}

/** Logs an unexpected error by class and message only (never the request, which may hold secrets). */
export const logUnexpected = (o: Pick<Observability, 'logger'>) => (err: unknown) =>
  o.logger.error('request failed', {
    errorName: (err as Error)?.name,
    errorMessage: (err as Error)?.message,
    causeName: ((err as Error)?.cause as Error | undefined)?.name,
  });
