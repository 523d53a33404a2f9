/**
 * The sample orders service's fulfil, with inventory replaced by a stub fetch (the real thing runs in
 * shop-e2e.test.ts): the call goes to `${API_URL}/inventory/{item}/reservations` with the caller's own
 * Authorization header and the order id as reference, and every answer of inventory maps to a clear status:
 * 201 → 200 (recorded on the order), 401 → 401, 403 (e.g. the gateway's `{"Message":"User is not authorized…"}`)
 * → 403 naming inventory:reserve, 404/409 passed on, anything else or no answer → 502. Never a 500.
 */
import { afterAll, beforeAll, expect, test } from '@jest/globals';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import type { APIGatewayProxyEvent } from 'aws-lambda';
import { ManualClock } from '../../lambdas/core/clock.js';
import { createOrdersHandler } from '../../examples/shop/orders/app.js';
import { startShopTables, type ShopTables } from '../helpers/shop.js';

const clock = new ManualClock(Date.now());
const listEvent = JSON.parse(readFileSync(new URL('../events/orders-list.json', import.meta.url), 'utf8')) as APIGatewayProxyEvent;
const TOKEN = 'eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJhbGljZSJ9.c2ln';
let shop: ShopTables;
beforeAll(async () => {
  shop = await startShopTables();
});
afterAll(async () => shop.close());

const event = (scope: string, over: Partial<APIGatewayProxyEvent> = {}): APIGatewayProxyEvent => ({
  ...listEvent,
  headers: { ...listEvent.headers, Authorization: `Bearer ${TOKEN}` },
  multiValueHeaders: {},
  requestContext: {
    ...listEvent.requestContext,
    authorizer: { principalId: 'alice', sub: 'alice', scope, sid: 's', jti: 'j', exp: String(Math.floor(clock.now() / 1000) + 900) },
  },
  ...over,
});

type Answer = { status: number; body?: unknown } | 'network-error';
function stubInventory(answer: Answer) {
  const seen: { url: string; authorization: string | null; body: unknown }[] = [];
  const fetch = (async (url: string | URL | Request, init?: RequestInit) => {
    seen.push({ url: String(url), authorization: new Headers(init?.headers).get('authorization'), body: JSON.parse(String(init?.body)) });
    if (answer === 'network-error') throw new TypeError('fetch failed');
    return new Response(answer.body === undefined ? '' : JSON.stringify(answer.body), { status: answer.status });
  }) as typeof globalThis.fetch;
  return { seen, fetch };
}

async function placeAndFulfil(answer: Answer, scope = 'orders:read orders:write inventory:reserve') {
  const inventory = stubInventory(answer);
  const handler = createOrdersHandler({ orders: shop.orders, clock, apiUrl: 'https://api.test/prod', fetch: inventory.fetch });
  const created = await handler(event(scope, { httpMethod: 'POST', resource: '/orders', path: '/orders', body: '{"item":"tea","quantity":2}' }));
  assert.equal(created.statusCode, 201);
  const id = (JSON.parse(created.body) as { order: { id: string } }).order.id;
  const fulfil = (s = scope) =>
    handler(event(s, { httpMethod: 'POST', resource: '/orders/{id}/fulfil', path: `/orders/${id}/fulfil`, pathParameters: { id } }));
  return { id, res: await fulfil(), fulfil, inventory, get: () => shop.orders.get('alice', id) };
}

test('201 from inventory → 200 with the reservation, recorded on the order; the call carried the caller\'s token', async () => {
  const reservation = { id: 'r', sku: 'tea', quantity: 2, by: 'alice', reservedAt: 1 };
  const { id, res, inventory, get, fulfil } = await placeAndFulfil({ status: 201, body: { reservation, available: 98 } });
  assert.equal(res.statusCode, 200, res.body);
  expect(JSON.parse(res.body)).toMatchObject({ sub: 'alice', reservation, order: { id, reservation } });
  expect(inventory.seen).toEqual([
    { url: 'https://api.test/prod/inventory/tea/reservations', authorization: `Bearer ${TOKEN}`, body: { quantity: 2, reference: id } },
  ]);
  expect((await get())?.reservation).toEqual(reservation);
  // Fulfilled already: answered from the order, inventory not called again.
  assert.equal((await fulfil()).statusCode, 200);
  assert.equal(inventory.seen.length, 1);
});

test('a caller without inventory:reserve is refused before inventory is called', async () => {
  const { res, inventory, get } = await placeAndFulfil({ status: 201 }, 'orders:read orders:write');
  assert.equal(res.statusCode, 403);
  expect(JSON.parse(res.body)).toEqual({ message: 'Forbidden', error: 'insufficient_scope', required: 'inventory:reserve' });
  assert.equal(inventory.seen.length, 0);
  assert.equal((await get())?.reservation, undefined);
});

test("inventory's answers map to clear statuses, never a 500", async () => {
  const cases: [Answer, number, unknown][] = [
    [{ status: 403, body: { Message: 'User is not authorized to access this resource' } }, 403, { message: 'Forbidden', error: 'insufficient_scope', required: 'inventory:reserve' }],
    [{ status: 401, body: { message: 'Unauthorized' } }, 401, { message: 'Unauthorized' }],
    [{ status: 404, body: { message: 'unknown sku "tea"' } }, 404, { message: 'inventory does not know the item "tea"' }],
    [{ status: 409, body: { message: 'not enough stock', available: 1 } }, 409, { message: 'not enough stock', item: 'tea', requested: 2, available: 1 }],
    [{ status: 201, body: { nothing: true } }, 502, { message: 'inventory answered without a reservation' }],
    [{ status: 500, body: { error: 'server_error' } }, 502, { message: 'inventory answered 500' }],
    [{ status: 502 }, 502, { message: 'inventory answered 502' }],
    ['network-error', 502, { message: 'inventory did not answer' }],
  ];
  for (const [answer, status, body] of cases) {
    const { res, get } = await placeAndFulfil(answer);
    assert.equal(res.statusCode, status, `${JSON.stringify(answer)} → ${res.body}`);
    expect(JSON.parse(res.body)).toEqual(body);
    assert.equal((await get())?.reservation, undefined);
  }
});
