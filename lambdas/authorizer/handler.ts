/**
 * Lambda entry for the TOKEN authorizer. Everything is built at init: the key set (from JWKS_JSON, no
 * network), the policy table, the revocation cache; a request costs one signature check, a Map lookup and
 * at most one store round trip per session per cache window.
 *
 * Cold start is part of every user's latency, so this entry imports only what the authorizer runs: no AWS SDK
 * (the session lookup is one SigV4-signed BatchGetItem over node:https, adapters/dynamo/light-*.ts) and no
 * Powertools (counters go out as one CloudWatch EMF line at most once a minute, errors as one JSON line; both
 * honour Powertools' switches: POWERTOOLS_METRICS_DISABLED / POWERTOOLS_DEV, and the log level).
 * docs/BENCHMARKS.md has the measurements behind both choices.
 */
import { sessionStatusFromEnv } from '../adapters/dynamo/session-status.js';
import { composeAuthorizer } from './compose.js';

const env = process.env;
const SERVICE = 'authorizer';
const NAMESPACE = env.POWERTOOLS_METRICS_NAMESPACE ?? 'tokengate';
const FLUSH_INTERVAL_MS = 60_000;
/** Powertools' reading of its switches: POWERTOOLS_METRICS_DISABLED, else POWERTOOLS_DEV, turn metrics off. */
const truthy = (v: string | undefined): boolean => /^\s*(1|true|yes|on)\s*$/i.test(v ?? '');
const METRICS_OFF = env.POWERTOOLS_METRICS_DISABLED !== undefined ? truthy(env.POWERTOOLS_METRICS_DISABLED) : truthy(env.POWERTOOLS_DEV);
const LOG_LEVEL = (env.AWS_LAMBDA_LOG_LEVEL ?? env.POWERTOOLS_LOG_LEVEL ?? env.LOG_LEVEL ?? '').toUpperCase();
const ERRORS_OFF = LOG_LEVEL === 'SILENT' || LOG_LEVEL === 'CRITICAL' || LOG_LEVEL === 'FATAL';

/** In-memory counters, published as one EMF line (the format Powertools Metrics writes) when due. */
const counts = new Map<string, number>();
let lastFlush = 0;

function flushIfDue(nowMs: number): void {
  if (nowMs - lastFlush < FLUSH_INTERVAL_MS) return;
  lastFlush = nowMs;
  if (counts.size === 0) return;
  if (METRICS_OFF) return void counts.clear();
  const line: Record<string, unknown> = {
    _aws: {
      Timestamp: nowMs,
      CloudWatchMetrics: [
        { Namespace: NAMESPACE, Dimensions: [['service']], Metrics: [...counts.keys()].map((Name) => ({ Name, Unit: 'Count' })) },
      ],
    },
    service: SERVICE,
  };
  for (const [name, n] of counts) line[name] = n;
  counts.clear();
  process.stdout.write(JSON.stringify(line) + '\n');
}

/** Error class names only: never the token or the request. */
function logError(err: unknown): void {
  if (ERRORS_OFF) return;
  const e = err as Error | undefined;
  process.stderr.write(
    JSON.stringify({
      level: 'ERROR',
      message: 'authorizer failure',
      timestamp: new Date().toISOString(),
      service: SERVICE,
      errorName: e?.name,
      causeName: (e?.cause as Error | undefined)?.name,
    }) + '\n',
  );
}

export const handler = composeAuthorizer(env, {
  source: sessionStatusFromEnv(env),
  count: (name) => counts.set(name, (counts.get(name) ?? 0) + 1),
  after: flushIfDue,
  onError: logError,
}).handler;
