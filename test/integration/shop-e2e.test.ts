/**
 * The sample app end to end through the local stack (`npm start`'s code, the declaration examples/shop/app.ts):
 * orders fulfils an order by calling inventory through the gateway with the caller's forwarded token.
 * alice (both permissions) → 200 with the reservation, stock goes down, inventory saw alice; carol (orders only)
 * → 403 naming inventory:reserve, nothing reserved; inventory's 409 and 404 passed on; a retried fulfil does not
 * reserve twice; bob reads stock; a service verifying tokens itself works against the stack's JWKS URL.
 */
import { afterAll, beforeAll, expect, test } from '@jest/globals';
import assert from 'node:assert/strict';
import { createTokenVerifier } from '../../service/index.js';
import { bearer, DEMO, get, login, post, startTestStack, type Reply, type TestStack } from '../helpers/local.js';

let h: TestStack;
const tokens: Record<string, string> = {};

beforeAll(async () => {
  h = await startTestStack();
  for (const [name, u] of Object.entries({ ...DEMO, carol: { username: 'carol', password: 'carol-password-1' } })) {
    tokens[name] = (await login(h, u.username, u.password)).access_token;
  }
});
afterAll(async () => h?.close());

const as = (who: string) => bearer(tokens[who]!);
const stock = async (sku: string): Promise<number> => {
  const r = await get(h, `/inventory/${sku}`, as('bob'));
  assert.equal(r.status, 200, r.text);
  return (r.json as { available: number }).available;
};
async function order(who: string, item: string, quantity: number): Promise<string> {
  const r = await post(h, '/orders', { item, quantity }, as(who));
  assert.equal(r.status, 201, r.text);
  return (r.json as { order: { id: string } }).order.id;
}
const fulfil = (who: string, id: string): Promise<Reply> => post(h, `/orders/${id}/fulfil`, undefined, as(who));

test('the demo stock is seeded, and bob (inventory:read) reads it; an unknown sku is 404', async () => {
  expect(await get(h, '/inventory/tea', as('bob')).then((r) => [r.status, r.json])).toEqual([200, { sku: 'tea', available: 100 }]);
  assert.equal(await stock('coffee'), 5);
  assert.equal((await get(h, '/inventory/cake', as('bob'))).status, 404);
  assert.equal((await get(h, '/inventory/tea', as('carol'))).status, 403, 'carol has no inventory permission');
});

test('alice fulfils her order: 200 with the reservation made as alice, the stock goes down once, a retry reserves nothing more', async () => {
  const before = await stock('tea');
  const id = await order('alice', 'tea', 3);
  const r = await fulfil('alice', id);
  assert.equal(r.status, 200, r.text);
  const body = r.json as { sub: string; order: { id: string; reservation: unknown }; reservation: { sku: string; quantity: number; by: string; id: string } };
  assert.equal(body.sub, 'alice');
  expect(body.reservation).toMatchObject({ sku: 'tea', quantity: 3, by: 'alice', id });
  assert.equal(body.reservation.by, 'alice', 'inventory saw the forwarded token: its caller was alice');
  expect(body.order.reservation).toEqual(body.reservation);
  assert.equal(await stock('tea'), before - 3);

  const again = await fulfil('alice', id);
  assert.equal(again.status, 200);
  expect((again.json as { reservation: unknown }).reservation).toEqual(body.reservation);
  assert.equal(await stock('tea'), before - 3, 'not reserved twice');
  expect((await get(h, `/orders/${id}`, as('alice'))).json.order.reservation).toEqual(body.reservation);
});

test('carol (orders:write, no inventory permission) → 403 naming inventory:reserve, and nothing is reserved', async () => {
  const before = await stock('tea');
  const id = await order('carol', 'tea', 2);
  const r = await fulfil('carol', id);
  assert.equal(r.status, 403);
  expect(r.json).toEqual({ message: 'Forbidden', error: 'insufficient_scope', required: 'inventory:reserve' });
  assert.equal(await stock('tea'), before);
  assert.equal((await get(h, `/orders/${id}`, as('carol'))).json.order.reservation, undefined);
  // Calling inventory herself is refused by the gateway, as the route table says.
  assert.equal((await post(h, '/inventory/tea/reservations', { quantity: 1 }, as('carol'))).status, 403);
});

test("inventory's 409 (not enough stock) and 404 (unknown item) come back as such", async () => {
  const coffee = await stock('coffee');
  const tooMany = await fulfil('alice', await order('alice', 'coffee', coffee + 1));
  assert.equal(tooMany.status, 409, tooMany.text);
  expect(tooMany.json).toMatchObject({ message: 'not enough stock', item: 'coffee', requested: coffee + 1, available: coffee });
  assert.equal(await stock('coffee'), coffee);

  const unknown = await fulfil('alice', await order('alice', 'cake', 1));
  assert.equal(unknown.status, 404, unknown.text);
  expect(unknown.json).toEqual({ message: 'inventory does not know the item "cake"' });

  assert.equal((await fulfil('alice', 'no-such-order')).status, 404);
});

test('inventory directly: alice reserves (201), a bad quantity is 400, not 500; bob may read but not reserve', async () => {
  const before = await stock('tea');
  const r = await post(h, '/inventory/tea/reservations', { quantity: 1 }, as('alice'));
  assert.equal(r.status, 201, r.text);
  expect(r.json).toMatchObject({ reservation: { sku: 'tea', quantity: 1, by: 'alice' }, available: before - 1 });
  for (const bad of [{}, { quantity: 0 }, { quantity: 'many' }, { quantity: 1, reference: 'a b' }]) {
    assert.equal((await post(h, '/inventory/tea/reservations', bad, as('alice'))).status, 400, JSON.stringify(bad));
  }
  assert.equal((await post(h, '/inventory/tea/reservations', '{"quantity":', as('alice'))).status, 400);
  assert.equal((await post(h, '/inventory/tea/reservations', { quantity: 1 }, as('bob'))).status, 403);
  assert.equal((await post(h, '/inventory/tea/reservations', { quantity: 1 }, as('admin'))).status, 201, 'inventory:* grants it');
});

test('a service that verifies tokens itself accepts the stack\'s tokens through its JWKS URL', async () => {
  const verifier = createTokenVerifier({
    jwksUrl: h.stack.app.env.JWKS_URL!,
    issuer: h.stack.env.TOKEN_ISSUER!,
    audience: h.stack.env.TOKEN_AUDIENCE!,
  });
  const caller = await verifier.verifyCaller(tokens.alice!);
  assert.equal(caller.sub, 'alice');
  assert.ok(caller.can('inventory:reserve'));
  assert.ok(!(await verifier.verifyCaller(tokens.carol!)).can('inventory:reserve'));
});
