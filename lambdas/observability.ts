/**
 * Structured logs and metrics with Powertools for AWS Lambda, the same way in every function (the authorizer
 * included), used as Powertools documents it without middy: at the start of each invocation the Lambda context
 * goes into the logger (every line then carries function name, request id, cold start) and the `ColdStart`
 * metric is captured; at its end the stored metrics are published, one EMF flush per invocation.
 *
 * Powertools reads its own switches: POWERTOOLS_METRICS_DISABLED / POWERTOOLS_DEV, POWERTOOLS_LOG_LEVEL (or the
 * function's AWS_LAMBDA_LOG_LEVEL), POWERTOOLS_METRICS_NAMESPACE, POWERTOOLS_SERVICE_NAME.
 *
 * Logs never carry a token, a password, a refresh token or a key: call sites log outcomes and error classes
 * only, and the event is never logged (POWERTOOLS_LOGGER_LOG_EVENT has no effect: nothing here calls
 * `logEventIfEnabled`; a request's body and Authorization header hold secrets).
 */
import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import type { Context } from 'aws-lambda';
import type { AuthEvents } from './core/sessions.js';

export interface Observability {
  readonly logger: Logger;
  readonly metrics: Metrics;
  /** Adds 1 to a Count metric of this invocation (kept in memory until the invocation's flush). */
  count(name: string): void;
  /** Whether metrics are published at the end of an invocation (false: counted, then dropped). */
  readonly publishMetrics: boolean;
}

export interface ObservabilityOptions {
  /**
   * false keeps EMF lines off the console when the functions run in one local process (`npm start`, tests);
   * in Lambda leave it on and let POWERTOOLS_METRICS_DISABLED decide. @default true
   */
  publishMetrics?: boolean;
}

/** Namespace when POWERTOOLS_METRICS_NAMESPACE is not set (the stack sets it to the same). */
const DEFAULT_NAMESPACE = 'tokengate';

/**
 * Logger and Metrics of one function. `service` names it where POWERTOOLS_SERVICE_NAME is not set (the stack
 * sets `tokengate-<function>`; local mode runs every function in one process under its own name).
 */
export function createObservability(service: string, opts: ObservabilityOptions = {}): Observability {
  const serviceName = process.env.POWERTOOLS_SERVICE_NAME ? undefined : service;
  const logger = new Logger(serviceName ? { serviceName } : {});
  const metrics = new Metrics({
    ...(serviceName ? { serviceName } : {}),
    ...(process.env.POWERTOOLS_METRICS_NAMESPACE ? {} : { namespace: DEFAULT_NAMESPACE }),
    // Powertools' own warnings (e.g. a bad dimension) as structured log lines.
    logger,
  });
  return {
    logger,
    metrics,
    count: (name) => void metrics.addMetric(name, MetricUnit.Count, 1),
    publishMetrics: opts.publishMetrics !== false,
  };
}

/**
 * Wraps a handler for Lambda: `(event, context)`. Per invocation: Lambda context into every log line (when
 * there is one: tests may call without), the ColdStart metric on the first, one publish of the stored metrics
 * at the end, whether the handler returned or threw. An invocation that counted nothing publishes nothing
 * (Powertools would only warn that there was nothing to publish).
 */
export function instrument<E, R>(obs: Observability, handler: (event: E) => Promise<R>): (event: E, context?: Context) => Promise<R> {
  const { logger, metrics } = obs;
  return async (event, context) => {
    logger.refreshSampleRateCalculation();
    if (context) logger.addContext(context);
    if (obs.publishMetrics) metrics.captureColdStartMetric(context?.functionName);
    try {
      return await handler(event);
    } finally {
      if (!obs.publishMetrics) metrics.clearMetrics();
      else if (metrics.hasStoredMetrics()) metrics.publishStoredMetrics();
      logger.clearBuffer();
    }
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
export const logUnexpected =
  (o: Pick<Observability, 'logger'>, message = 'request failed') =>
  (err: unknown): void =>
    o.logger.error(message, {
      errorName: (err as Error)?.name,
      errorMessage: (err as Error)?.message,
      causeName: ((err as Error)?.cause as Error | undefined)?.name,
    });
