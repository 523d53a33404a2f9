/**
 * Benchmark variant (section 2): the authorizer composed exactly as lambdas/authorizer/handler.ts does it, but
 * with the session lookup through @aws-sdk/client-dynamodb (adapters/dynamo/sdk-caller.ts, what the admin CLI
 * uses; the Lambdas used it before). Set beside the real handler, it isolates what the choice of DynamoDB client costs at cold start.
 */
import { storeConfig } from '../../../lambdas/core/config.js';
import { createSdkDynamoCaller } from '../../../lambdas/adapters/dynamo/sdk-caller.js';
import { DynamoSessionStatusSource } from '../../../lambdas/adapters/dynamo/session-status.js';
import { composeAuthorizer } from '../../../lambdas/authorizer/compose.js';

const store = storeConfig(process.env);
const counts = new Map<string, number>();

export const handler = composeAuthorizer(process.env, {
  source: new DynamoSessionStatusSource({ client: createSdkDynamoCaller(store), tableName: store.tableName }),
  count: (name) => counts.set(name, (counts.get(name) ?? 0) + 1),
}).handler;
