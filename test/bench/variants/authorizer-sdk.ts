/**
 * Benchmark variant (section 2): the authorizer as lambdas/authorizer/handler.ts composes it (session lookup
 * through @aws-sdk/client-dynamodb, adapters/dynamo/sdk-caller.ts), but without Powertools: set beside the real
 * handler, it isolates what Powertools costs the authorizer in bundle size and cold start.
 */
import { storeConfig } from '../../../lambdas/core/config.js';
import { createSdkDynamoCaller } from '../../../lambdas/adapters/dynamo/sdk-caller.js';
import { DynamoSessionStatusSource } from '../../../lambdas/adapters/dynamo/session-status.js';
import { composeAuthorizer } from '../../../lambdas/authorizer/compose.js';
import { routes } from '../../../lib/routes.js';

const store = storeConfig(process.env);
const counts = new Map<string, number>();

export const handler = composeAuthorizer(process.env, {
  routes,
  source: new DynamoSessionStatusSource({ client: createSdkDynamoCaller(store), tableName: store.tableName }),
  count: (name) => counts.set(name, (counts.get(name) ?? 0) + 1),
}).handler;
