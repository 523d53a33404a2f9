/**
 * Benchmark variant (section 2): the authorizer composed exactly as lambdas/authorizer/handler.ts does it, but
 * with the session lookup through @aws-sdk/client-dynamodb (adapters/dynamo/session-status.ts, the previous
 * design). Set beside the real handler, it isolates what the choice of DynamoDB client costs at cold start.
 */
import { routes } from '../../../lib/routes.js';
import { AccessTokenVerifier } from '../../../lambdas/core/access-token.js';
import { systemClock } from '../../../lambdas/core/clock.js';
import { jwksSetting, revocationConfig, storeConfig, tokenConfig } from '../../../lambdas/core/config.js';
import { PolicyBuilder } from '../../../lambdas/core/policy.js';
import { RevocationCheck } from '../../../lambdas/core/revocation.js';
import { createDynamoClient } from '../../../lambdas/adapters/dynamo/client.js';
import { DynamoSessionStatusSource } from '../../../lambdas/adapters/dynamo/session-status.js';
import { createAuthorizer } from '../../../lambdas/authorizer/authorizer.js';

const env = process.env;
const tokens = tokenConfig(env);
const rc = revocationConfig(env);
const store = storeConfig(env);
const counts = new Map<string, number>();

export const handler = createAuthorizer({
  verifier: new AccessTokenVerifier({
    issuer: tokens.issuer,
    audience: tokens.audience,
    jwks: jwksSetting(env),
    leewaySeconds: tokens.clockLeewaySeconds,
    clock: systemClock,
  }),
  revocation: new RevocationCheck(new DynamoSessionStatusSource({ client: createDynamoClient(store), tableName: store.tableName }), systemClock, {
    ttlMs: rc.cacheTtlSeconds * 1000,
    maxEntries: rc.cacheMaxEntries,
  }),
  policy: new PolicyBuilder(routes),
  clock: systemClock,
  count: (name) => counts.set(name, (counts.get(name) ?? 0) + 1),
});
