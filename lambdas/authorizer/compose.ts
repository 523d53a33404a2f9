/**
 * The authorizer composed from its environment and a session-status source: one place for the Lambda entry
 * (handler.ts), local mode and the benchmark's variants, so they differ only in what they pass in.
 * No SDK import: the source is given.
 */
import { routes } from '../../lib/routes.js';
import { verifierFromEnv } from '../core/access-token.js';
import { type Clock, systemClock } from '../core/clock.js';
import { type Env, revocationConfig } from '../core/config.js';
import { PolicyBuilder } from '../core/policy.js';
import type { SessionStatusSource } from '../core/ports.js';
import { RevocationCheck } from '../core/revocation.js';
import { type AuthorizerDeps, createAuthorizer } from './authorizer.js';

export interface ComposeOptions extends Pick<AuthorizerDeps, 'count' | 'after' | 'onError'> {
  source: SessionStatusSource;
  clock?: Clock;
}

export function composeAuthorizer(env: Env, opts: ComposeOptions) {
  const clock = opts.clock ?? systemClock;
  const rc = revocationConfig(env);
  const revocation = new RevocationCheck(opts.source, clock, { ttlMs: rc.cacheTtlSeconds * 1000, maxEntries: rc.cacheMaxEntries });
  const handler = createAuthorizer({
    verifier: verifierFromEnv(env, clock),
    revocation,
    policy: new PolicyBuilder(routes),
    clock,
    ...(opts.count ? { count: opts.count } : {}),
    ...(opts.after ? { after: opts.after } : {}),
    ...(opts.onError ? { onError: opts.onError } : {}),
  });
  return { handler, revocation };
}
