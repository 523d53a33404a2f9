/**
 * Benchmark variant (section 2): the authorizer exactly as lambdas/authorizer/handler.ts composes it (light
 * DynamoDB client), but with the counters and error log through Powertools Logger + Metrics
 * (lambdas/observability.ts, as the other functions use them, and as the authorizer did before). Set beside the
 * real handler, it isolates what Powertools costs the authorizer in bundle size and cold start.
 */
import { routes } from '../../../lib/routes.js';
import { AccessTokenVerifier } from '../../../lambdas/core/access-token.js';
import { systemClock } from '../../../lambdas/core/clock.js';
import { jwksSetting, revocationConfig, tokenConfig } from '../../../lambdas/core/config.js';
import { PolicyBuilder } from '../../../lambdas/core/policy.js';
import { RevocationCheck } from '../../../lambdas/core/revocation.js';
import { lightSessionStatusFromEnv } from '../../../lambdas/adapters/dynamo/light-session-status.js';
import { createAuthorizer } from '../../../lambdas/authorizer/authorizer.js';
import { createObservability } from '../../../lambdas/observability.js';

const env = process.env;
const tokens = tokenConfig(env);
const rc = revocationConfig(env);
const obs = createObservability('authorizer');

export const handler = createAuthorizer({
  verifier: new AccessTokenVerifier({
    issuer: tokens.issuer,
    audience: tokens.audience,
    jwks: jwksSetting(env),
    leewaySeconds: tokens.clockLeewaySeconds,
    clock: systemClock,
  }),
  revocation: new RevocationCheck(lightSessionStatusFromEnv(env), systemClock, {
    ttlMs: rc.cacheTtlSeconds * 1000,
    maxEntries: rc.cacheMaxEntries,
  }),
  policy: new PolicyBuilder(routes),
  clock: systemClock,
  count: obs.count,
  after: obs.flushIfDue,
  onError: (err) => obs.logger.error('authorizer failure', { errorName: (err as Error)?.name }),
});
