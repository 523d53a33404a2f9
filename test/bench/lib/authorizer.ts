/**
 * The one place the benchmark composes an authorizer itself (lambdas/authorizer/compose.ts, as the Lambda entry
 * and local mode do): if compose's options change, only this adapts. The Lambda entry itself
 * (lambdas/authorizer/handler.ts) is measured as it is, bundled (section 2) and imported (section 1).
 */
import { createDynamoClient, type DynamoCaller } from '../../../lambdas/adapters/dynamo/client.js';
import { DynamoSessionStatusSource } from '../../../lambdas/adapters/dynamo/session-status.js';
import { type AuthorizerHandler, composeAuthorizer } from '../../../lambdas/authorizer/compose.js';
import { type Env, storeConfig } from '../../../lambdas/core/config.js';
import type { SessionStatusSource } from '../../../lambdas/core/ports.js';
import type { RevocationCheck } from '../../../lambdas/core/revocation.js';
import { allRoutes } from '../../../lib/routes.js';
import shop from '../../../examples/shop/app.js';

/** The authorizer as handler.ts composes it, over `source`, but without Powertools (counters into nothing). */
export function composeBenchAuthorizer(env: Env, source: SessionStatusSource): { handler: AuthorizerHandler; revocation: RevocationCheck } {
  return composeAuthorizer(env, { routes: allRoutes(shop), source, count: () => {} });
}

/** The session-status source exactly as sessionStatusFromEnv builds it, with its client at hand (to close it). */
export function sessionSourceFor(env: Env): { client: DynamoCaller; source: DynamoSessionStatusSource } {
  const cfg = storeConfig(env);
  const client = createDynamoClient(cfg);
  return { client, source: new DynamoSessionStatusSource({ client, tableName: cfg.tableName, deadlineMs: cfg.deadlineMs }) };
}
