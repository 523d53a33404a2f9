/**
 * Benchmark variant (section 2): the authorizer with Powertools Logger + Metrics (lambdas/observability.ts).
 * Since every function, the authorizer included, is instrumented with Powertools, this is now composed exactly as
 * lambdas/authorizer/handler.ts; it stays until the benchmark re-base drops or redefines it.
 */
import { sessionStatusFromEnv } from '../../../lambdas/adapters/dynamo/session-status.js';
import { composeAuthorizer } from '../../../lambdas/authorizer/compose.js';
import { routes } from '../../../lib/routes.js';
import { createObservability } from '../../../lambdas/observability.js';

export const handler = composeAuthorizer(process.env, {
  routes,
  source: sessionStatusFromEnv(process.env),
  obs: createObservability('authorizer'),
}).handler;
