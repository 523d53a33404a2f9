/** Lambda entry for the demo service. */
import { systemClock } from '../core/clock.js';
import { DynamoOrdersStore } from '../adapters/dynamo/orders-store.js';
import { parseOrigins, withCors } from '../http/cors.js';
import { createObservability } from '../observability.js';
import { tableFromEnv } from '../wiring.js';
import { createOrdersHandler } from './app.js';

const app = createOrdersHandler({
  orders: new DynamoOrdersStore(tableFromEnv(process.env)),
  clock: systemClock,
  obs: createObservability('orders'),
});
export const handler = withCors(parseOrigins(process.env.CORS_ALLOW_ORIGINS), app);
