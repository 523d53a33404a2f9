/**
 * The sample orders service, written as a team writes its own: it reads the caller from the authorizer's
 * context (tokengate/service), keeps each caller's orders in its own table, and fulfils an order by reserving
 * stock at the inventory service AS THE CALLER: the caller's bearer token is forwarded, so inventory (and the
 * gateway in front of it) decides with the user's own permissions.
 *
 * Routes (../app.ts): GET/POST /orders, GET/DELETE /orders/{id}, POST /orders/{id}/fulfil.
 */
import { randomUUID } from 'node:crypto';
import type { APIGatewayProxyEvent, APIGatewayProxyResult } from 'aws-lambda';
import {
  callerFrom,
  empty,
  errorResponse,
  forbidden,
  forwardingFetch,
  InvalidRequestError,
  json,
  readBody,
  requirePermission,
  unauthorized,
} from '../../../service/index.js';
import type { Order, OrdersStore, Reservation } from './store.js';

/** The permission inventory's reservation route needs (../app.ts). */
export const RESERVE = 'inventory:reserve';

export interface OrdersDeps {
  orders: Pick<OrdersStore, 'list' | 'get' | 'put' | 'delete' | 'setReservation'>;
  /** The API's base URL (API_URL): where inventory is called, and the only place the caller's token is sent. */
  apiUrl?: string;
  clock?: { now(): number };
  /** For tests. @default globalThis.fetch */
  fetch?: typeof fetch;
  /** Time inventory has to answer. @default 10 000 ms */
  inventoryTimeoutMs?: number;
}

const ID = /^[A-Za-z0-9-]{1,64}$/;
const notFound = () => json(404, { message: 'order not found' });

interface InventoryReply {
  reservation?: Reservation;
  available?: number;
  message?: string;
}

export function createOrdersHandler(deps: OrdersDeps) {
  const clock = deps.clock ?? { now: () => Date.now() };

  /** POST /orders/{id}/fulfil: reserve the order's item at inventory with the caller's token. */
  async function fulfil(event: APIGatewayProxyEvent, order: Order, sub: string): Promise<APIGatewayProxyResult> {
    if (order.reservation) return json(200, { sub, order, reservation: order.reservation });
    if (!deps.apiUrl) throw new Error('API_URL is not set: the orders service cannot reach inventory');
    const call = forwardingFetch(event, { baseUrl: deps.apiUrl, ...(deps.fetch ? { fetch: deps.fetch } : {}) });
    let res: Response;
    let reply: InventoryReply;
    try {
      res = await call(`/inventory/${encodeURIComponent(order.item)}/reservations`, {
        method: 'POST',
        // The order id as the reservation's reference: a retried fulfil gets the same reservation, not a second one.
        body: JSON.stringify({ quantity: order.quantity, reference: order.id }),
        signal: AbortSignal.timeout(deps.inventoryTimeoutMs ?? 10_000),
      });
      reply = ((await res.json().catch(() => ({}))) ?? {}) as InventoryReply;
    } catch {
      return json(502, { message: 'inventory did not answer' });
    }
    switch (res.status) {
      case 200:
      case 201: {
        const reservation = reply.reservation;
        if (!reservation) return json(502, { message: 'inventory answered without a reservation' });
        if (!(await deps.orders.setReservation(order.owner, order.id, reservation))) return notFound();
        return json(200, { sub, order: { ...order, reservation }, reservation });
      }
      // The token expired on the way (or its session was revoked): the caller must sign in again.
      case 401:
        return unauthorized();
      // The gateway (or inventory itself) refused the caller: the one permission that route needs.
      case 403:
        return forbidden(RESERVE);
      case 404:
        return json(404, { message: `inventory does not know the item "${order.item}"` });
      case 409:
        return json(409, {
          message: reply.message ?? 'not enough stock',
          item: order.item,
          requested: order.quantity,
          ...(typeof reply.available === 'number' ? { available: reply.available } : {}),
        });
      default:
        return json(502, { message: `inventory answered ${res.status}` });
    }
  }

  return async (event: APIGatewayProxyEvent): Promise<APIGatewayProxyResult> => {
    // No caller (not through the authorizer, or a token expired since the gateway cached its Allow): 401 as the gateway's.
    const caller = callerFrom(event, { clock });
    if (!caller) return unauthorized();
    try {
      const route = `${event.httpMethod} ${event.resource}`;
      const id = event.pathParameters?.id;
      if (id !== undefined && !ID.test(id)) return notFound();
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
          const order: Order = { id: randomUUID(), owner: caller.sub, item, quantity, createdAt: clock.now() };
          await deps.orders.put(order);
          return json(201, { sub: caller.sub, order }, { Location: `/orders/${order.id}` });
        }
        case 'GET /orders/{id}': {
          const order = await deps.orders.get(caller.sub, id!);
          return order ? json(200, { sub: caller.sub, order }) : notFound();
        }
        case 'DELETE /orders/{id}':
          return (await deps.orders.delete(caller.sub, id!)) ? empty(204) : notFound();
        case 'POST /orders/{id}/fulfil': {
          // Checked here first, so a caller without it gets a 403 that names it (the gateway's own 403 for
          // inventory's route would only say "not authorized"), and inventory is not called in vain.
          const denied = requirePermission(caller, RESERVE);
          if (denied) return denied;
          const order = await deps.orders.get(caller.sub, id!);
          return order ? await fulfil(event, order, caller.sub) : notFound();
        }
        default:
          return json(404, { message: 'not found' });
      }
    } catch (err) {
      return errorResponse(err);
    }
  };
}
