/**
 * Lambda entry for the TOKEN authorizer. Everything is built at init: the key set (from JWKS_JSON, no
 * network), the policy table (from the route table compiled into this bundle: `process.env.TOKENGATE_ROUTES` is
 * replaced by esbuild's define at bundle time, lib/bundling.ts, so it costs nothing of Lambda's 4 KB
 * environment), the revocation cache, the DynamoDB client; a request costs one signature check,
 * a Map lookup and at most one store round trip per session per cache window.
 *
 * The session lookup goes through @aws-sdk/client-dynamodb with a total deadline (STORE_DEADLINE_MS, 2 s by
 * default) inside the function's 3 s timeout: a store that is down, hangs or trickles bytes ends as an error
 * (→ 500, never Allow, never cached) before Lambda would kill the invocation. Logs and metrics: Powertools
 * (lambdas/observability.ts), as in every function.
 */
import { sessionStatusFromEnv } from '../adapters/dynamo/session-status.js';
import { createObservability } from '../observability.js';
import { composeAuthorizer, routeTableFromBundle } from './compose.js';

const obs = createObservability('authorizer');
// Spelled out in full: esbuild's define matches this exact expression.
const routes = routeTableFromBundle(process.env.TOKENGATE_ROUTES);

export const handler = composeAuthorizer(process.env, { routes, source: sessionStatusFromEnv(process.env), obs }).handler;
