/**
 * The authorizer composed from its environment and a session-status source: one place for the Lambda entry
 * (handler.ts), local mode and the benchmark's variants, so they differ only in what they pass in.
 * With `obs` (Powertools Logger + Metrics) it counts its outcomes, logs failures by class and is instrumented
 * per invocation (Lambda context in the logs, cold-start metric, one metrics flush), as every function is.
 */
import type { APIGatewayAuthorizerResult, APIGatewayTokenAuthorizerEvent, Context } from 'aws-lambda';
import { verifierFromEnv } from '../core/access-token.js';
import { type Clock, systemClock } from '../core/clock.js';
import { type Env, revocationConfig } from '../core/config.js';
import { ConfigError } from '../core/errors.js';
import { PolicyBuilder, type PolicyRoute } from '../core/policy.js';
import type { SessionStatusSource } from '../core/ports.js';
import { RevocationCheck } from '../core/revocation.js';
import { instrument, logUnexpected, type Observability } from '../observability.js';
import { type AuthorizerDeps, createAuthorizer } from './authorizer.js';

export interface ComposeOptions extends Pick<AuthorizerDeps, 'count' | 'onError'> {
  /**
   * The route table the policy is built from (public routes are skipped). The Lambda entry passes the table
   * compiled into its bundle (`routeTableFromBundle`); local mode passes the app's declaration.
   */
  routes: readonly PolicyRoute[];
  source: SessionStatusSource;
  clock?: Clock;
  /** Logger + Metrics: counts and failure logs go there (unless `count` / `onError` are given), per-invocation instrumentation. */
  obs?: Observability;
}

export type AuthorizerHandler = (event: APIGatewayTokenAuthorizerEvent, context?: Context) => Promise<APIGatewayAuthorizerResult>;

export function composeAuthorizer(env: Env, opts: ComposeOptions): { handler: AuthorizerHandler; revocation: RevocationCheck } {
  const clock = opts.clock ?? systemClock;
  const rc = revocationConfig(env);
  const revocation = new RevocationCheck(opts.source, clock, { ttlMs: rc.cacheTtlSeconds * 1000, maxEntries: rc.cacheMaxEntries });
  const count = opts.count ?? opts.obs?.count;
  const onError = opts.onError ?? (opts.obs ? logUnexpected(opts.obs, 'authorizer failure') : undefined);
  const authorize = createAuthorizer({
    verifier: verifierFromEnv(env, clock),
    revocation,
    policy: new PolicyBuilder(opts.routes),
    ...(count ? { count } : {}),
    ...(onError ? { onError } : {}),
  });
  return { handler: opts.obs ? instrument(opts.obs, authorize) : authorize, revocation };
}

const METHODS = new Set(['GET', 'POST', 'PUT', 'PATCH', 'DELETE']);

/**
 * The protected-route table compiled into the authorizer bundle (lib/bundling.ts, `authorizerRoutesDefine`), as
 * the handler finds it: JSON of `[{method, path, permission}]`. Anything else is a broken build, and the
 * function refuses to start (every call then fails closed with a 500) rather than deny or allow by accident.
 */
export function routeTableFromBundle(compiled: string | undefined): PolicyRoute[] {
  if (compiled === undefined || compiled === '') {
    throw new ConfigError('no route table was compiled into the authorizer (bundle it with authorizerRoutesDefine, lib/bundling.ts)');
  }
  let table: unknown;
  try {
    table = JSON.parse(compiled);
  } catch {
    throw new ConfigError('the compiled route table is not JSON');
  }
  if (!Array.isArray(table)) throw new ConfigError('the compiled route table is not a list');
  return table.map((entry: unknown, i): PolicyRoute => {
    const r = entry as Partial<Record<'method' | 'path' | 'permission', unknown>> | null;
    if (
      r === null || typeof r !== 'object' ||
      typeof r.method !== 'string' || !METHODS.has(r.method) ||
      typeof r.path !== 'string' || !r.path.startsWith('/') ||
      typeof r.permission !== 'string' || r.permission === ''
    ) {
      throw new ConfigError(`compiled route ${i} is not {method, path, permission}`);
    }
    return { method: r.method, path: r.path, permission: r.permission };
  });
}
