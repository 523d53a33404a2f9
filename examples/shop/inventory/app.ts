/**
 * The sample inventory service: stock per sku and reservations, in its own table. It reads the caller from the
 * authorizer's context like any service behind the gateway; when orders calls it with the user's forwarded
 * token, the caller is that user, with that user's permissions.
 *
 * Routes (../app.ts): GET /inventory/{sku} (inventory:read) → 200 `{sku, available}` | 404;
 * POST /inventory/{sku}/reservations `{quantity, reference?}` (inventory:reserve) → 201
 * `{reservation, available}` | 404 unknown sku | 409 not enough stock. `reference` (optional, the caller's
 * id for this reservation, e.g. an order id) makes a retry return the first reservation instead of a second.
 */
import { randomUUID } from 'node:crypto';
import type { APIGatewayProxyEvent, APIGatewayProxyResult } from 'aws-lambda';
import { callerFrom, errorResponse, InvalidRequestError, json, readBody, requirePermission, unauthorized } from '../../../service/index.js';
import type { InventoryStore } from './store.js';

export interface InventoryDeps {
  inventory: Pick<InventoryStore, 'available' | 'reserve'>;
  clock?: { now(): number };
}

const SKU = /^[A-Za-z0-9._-]{1,64}$/;
const REFERENCE = /^[A-Za-z0-9-]{1,64}$/;
const unknownSku = (sku: string) => json(404, { message: `unknown sku "${sku}"` });

export function createInventoryHandler(deps: InventoryDeps) {
  const clock = deps.clock ?? { now: () => Date.now() };
  return async (event: APIGatewayProxyEvent): Promise<APIGatewayProxyResult> => {
    const caller = callerFrom(event, { clock });
    if (!caller) return unauthorized();
    try {
      const sku = event.pathParameters?.sku ?? '';
      if (!SKU.test(sku)) return unknownSku(sku.slice(0, 64));
      switch (`${event.httpMethod} ${event.resource}`) {
        case 'GET /inventory/{sku}': {
          const available = await deps.inventory.available(sku);
          return available === undefined ? unknownSku(sku) : json(200, { sku, available });
        }
        case 'POST /inventory/{sku}/reservations': {
          // The gateway enforced it already; checked again because this code must not depend on where it runs.
          const denied = requirePermission(caller, 'inventory:reserve');
          if (denied) return denied;
          const body = readBody(event);
          const { quantity, reference } = body;
          if (typeof quantity !== 'number' || !Number.isInteger(quantity) || quantity < 1 || quantity > 1000) {
            throw new InvalidRequestError('quantity must be a whole number from 1 to 1000');
          }
          if (reference !== undefined && (typeof reference !== 'string' || !REFERENCE.test(reference))) {
            throw new InvalidRequestError('reference must be 1-64 letters, digits or dashes');
          }
          const outcome = await deps.inventory.reserve(sku, {
            id: typeof reference === 'string' ? reference : randomUUID(),
            quantity,
            by: caller.sub,
            reservedAt: clock.now(),
          });
          if (outcome.ok) return json(201, { reservation: outcome.reservation, available: outcome.available });
          if (outcome.reason === 'unknown_sku') return unknownSku(sku);
          if (outcome.reason === 'id_taken') return json(409, { message: `reservation "${String(reference)}" exists with other details` });
          return json(409, { message: 'not enough stock', sku, requested: quantity, available: outcome.available });
        }
        default:
          return json(404, { message: 'not found' });
      }
    } catch (err) {
      return errorResponse(err);
    }
  };
}
