/**
 * Lambda entry for the TOKEN authorizer. Everything is built at init: the key set (from JWKS_JSON, no
 * network), the policy table, the revocation cache, the DynamoDB client; a request costs one signature check,
 * a Map lookup and at most one store round trip per session per cache window.
 *
 * The session lookup goes through @aws-sdk/client-dynamodb with a total deadline (STORE_DEADLINE_MS, 2 s by
 * default) inside the function's 3 s timeout: a store that is down, hangs or trickles bytes ends as an error
 * (→ 500, never Allow, never cached) before Lambda would kill the invocation. Logs and metrics: Powertools
 * (lambdas/observability.ts), as in every function.
 */
import { sessionStatusFromEnv } from '../adapters/dynamo/session-status.js';
import { createObservability } from '../observability.js';
import { composeAuthorizer } from './compose.js';

const obs = createObservability('authorizer');

export const handler = composeAuthorizer(process.env, { source: sessionStatusFromEnv(process.env), obs }).handler;
