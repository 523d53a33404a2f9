/**
 * The demo service behind the authorizer: orders, each caller their own. It reads the caller from the
 * authorizer context and never sees a token.
 */
import { randomUUID } from 'node:crypto';
import type { APIGatewayProxyEvent, APIGatewayProxyResult } from 'aws-lambda';
import type { Clock } from '../core/clock.js';
import { InvalidRequestError } from '../core/errors.js';
import type { DynamoOrdersStore } from '../adapters/dynamo/orders-store.js';
import { callerFrom } from '../http/caller.js';
import { readBody } from '../http/request.js';
import { empty, errorResponse, json } from '../http/responses.js';
import { logUnexpected, type Observability } from '../observability.js';

type OrdersStore = Pick<DynamoOrdersStore, 'list' | 'get' | 'put' | 'delete'>;

const ID = /^[A-Za-z0-9-]{1,64}$/;

export function createOrdersHandler(deps: { orders: OrdersStore; clock: Clock; obs: Observability }) {
  const onUnexpected = logUnexpected(deps.obs);
  return async (event: APIGatewayProxyEvent): Promise<APIGatewayProxyResult> => {
    // No caller (not through the authorizer, or a token expired since the gateway cached its Allow): 401 as the gateway's.
    const caller = callerFrom(event, deps.clock.now());
    if (!caller) return json(401, { message: 'Unauthorized' });
    try {
      const route = `${event.httpMethod} ${event.resource}`;
      const id = event.pathParameters?.id;
      if (id !== undefined && !ID.test(id)) return json(404, { message: 'order not found' });
      switch (route) {
        case 'GET /orders':
          return json(200, { sub: caller.sub, permissions: caller.permissions, orders: await deps.orders.list(caller.sub) });
        case 'POST /orders': {
          const body = readBody(event);
          const item = body.item ?? 'coffee';
          const quantity = body.quantity ?? 1;
          if (typeof item !== 'string' || item.length === 0 || item.length > 100) throw new InvalidRequestError('item must be a string of 1-100 characters');
          if (typeof quantity !== 'number' || !Number.isInteger(quantity) || quantity < 1 || quantity > 1000) {
            throw new InvalidRequestError('quantity must be a whole number from 1 to 1000');
          }
          const order = { id: randomUUID(), owner: caller.sub, item, quantity, createdAt: deps.clock.now() };
          await deps.orders.put(order);
          return json(201, { sub: caller.sub, order }, { Location: `/orders/${order.id}` });
        }
        case 'GET /orders/{id}': {
          const order = await deps.orders.get(caller.sub, id!);
          return order ? json(200, { sub: caller.sub, order }) : json(404, { message: 'order not found' });
        }
        case 'DELETE /orders/{id}':
          return (await deps.orders.delete(caller.sub, id!)) ? empty(204) : json(404, { message: 'order not found' });
        default:
          return json(404, { message: 'not found' });
      }
    } catch (err) {
      return errorResponse(err, onUnexpected);
    }
  };
}
