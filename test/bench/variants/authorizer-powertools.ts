/**
 * Benchmark variant (section 2): the authorizer exactly as lambdas/authorizer/handler.ts composes it (light
 * DynamoDB client), but with the counters and error log through Powertools Logger + Metrics
 * (lambdas/observability.ts, as the other functions use them, and as the authorizer did before). Set beside the
 * real handler, it isolates what Powertools costs the authorizer in bundle size and cold start.
 */
import { sessionStatusFromEnv } from '../../../lambdas/adapters/dynamo/session-status.js';
import { composeAuthorizer } from '../../../lambdas/authorizer/compose.js';
import { createObservability } from '../../../lambdas/observability.js';

const obs = createObservability('authorizer');

export const handler = composeAuthorizer(process.env, {
  source: sessionStatusFromEnv(process.env),
  count: obs.count,
  after: obs.flushIfDue,
  onError: (err) => obs.logger.error('authorizer failure', { errorName: (err as Error)?.name }),
}).handler;
