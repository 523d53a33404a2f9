/**
 * The authorizer composed from its environment and a session-status source: one place for the Lambda entry
 * (handler.ts), local mode and the benchmark's variants, so they differ only in what they pass in.
 * With `obs` (Powertools Logger + Metrics) it counts its outcomes, logs failures by class and is instrumented
 * per invocation (Lambda context in the logs, cold-start metric, one metrics flush), as every function is.
 */
import type { APIGatewayAuthorizerResult, APIGatewayTokenAuthorizerEvent, Context } from 'aws-lambda';
import { routes } from '../../lib/routes.js';
import { verifierFromEnv } from '../core/access-token.js';
import { type Clock, systemClock } from '../core/clock.js';
import { type Env, revocationConfig } from '../core/config.js';
import { PolicyBuilder, type PolicyRoute } from '../core/policy.js';
import type { SessionStatusSource } from '../core/ports.js';
import { RevocationCheck } from '../core/revocation.js';
import { instrument, logUnexpected, type Observability } from '../observability.js';
import { type AuthorizerDeps, createAuthorizer } from './authorizer.js';

export interface ComposeOptions extends Pick<AuthorizerDeps, 'count' | 'after' | 'onError'> {
  source: SessionStatusSource;
  clock?: Clock;
  /** Logger + Metrics: counts and failure logs go there (unless `count` / `onError` are given), per-invocation instrumentation. */
  obs?: Observability;
  /** The API's route table, for the policy (local mode passes the app's). @default the built-in table */
  routes?: readonly PolicyRoute[];
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
    policy: new PolicyBuilder(opts.routes ?? routes),
    clock,
    ...(count ? { count } : {}),
    ...(opts.after ? { after: opts.after } : {}),
    ...(onError ? { onError } : {}),
  });
  return { handler: opts.obs ? instrument(opts.obs, authorize) : authorize, revocation };
}
