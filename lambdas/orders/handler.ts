/** Lambda entry for the demo service, instrumented with Powertools like every function. */
import { systemClock } from '../core/clock.js';
import { DynamoOrdersStore } from '../adapters/dynamo/orders-store.js';
import { parseOrigins, withCors } from '../http/cors.js';
import { createObservability, instrument } from '../observability.js';
import { tableFromEnv } from '../wiring.js';
import { createOrdersHandler } from './app.js';

const obs = createObservability('orders');
const app = createOrdersHandler({
  orders: new DynamoOrdersStore(tableFromEnv(process.env)),
  clock: systemClock,
  obs,
});
export const handler = instrument(obs, withCors(parseOrigins(process.env.CORS_ALLOW_ORIGINS), app));
