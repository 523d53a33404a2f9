/** Lambda entry for the demo service. */
import { systemClock } from '../core/clock.js';
import { DynamoOrdersStore } from '../adapters/dynamo/orders-store.js';
import { createObservability } from '../observability.js';
import { tableFromEnv } from '../wiring.js';
import { createOrdersHandler } from './app.js';

export const handler = createOrdersHandler({
  orders: new DynamoOrdersStore(tableFromEnv(process.env)),
  clock: systemClock,
  obs: createObservability('orders'),
});
