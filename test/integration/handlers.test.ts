/** Handlers invoked with sam-style events (test/events/), over the real embedded store and real crypto. */
import { afterAll, beforeAll, test } from '@jest/globals';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import type { APIGatewayProxyEvent } from 'aws-lambda';
import { AccessTokenIssuer } from '../../lambdas/core/access-token.js';
import { ManualClock } from '../../lambdas/core/clock.js';
import { PasswordHasher } from '../../lambdas/core/passwords.js';
import { AuthService } from '../../lambdas/core/sessions.js';
import { LoginThrottle } from '../../lambdas/core/throttle.js';
import { UserAdmin } from '../../lambdas/core/users.js';
import { LocalKeySigner, generateP256Pem } from '../../lambdas/adapters/local-signer.js';
import { DynamoSessionStore } from '../../lambdas/adapters/dynamo/session-store.js';
import { DynamoThrottleStore } from '../../lambdas/adapters/dynamo/throttle-store.js';
import { DynamoUserStore } from '../../lambdas/adapters/dynamo/user-store.js';
import { createJwksHandler } from '../../lambdas/jwks/app.js';
import { createLoginHandler } from '../../lambdas/login/app.js';
import { createOrdersHandler } from '../../examples/shop/orders/app.js';
import { createObservability } from '../../lambdas/observability.js';
import { hashRefreshToken } from '../../lambdas/core/refresh-token.js';
import { startTestTable, type TestTable } from '../helpers/dynamo.js';
import { startShopTables, type ShopTables } from '../helpers/shop.js';

const ev = (name: string): APIGatewayProxyEvent =>
  JSON.parse(readFileSync(new URL(`../events/${name}.json`, import.meta.url), 'utf8')) as APIGatewayProxyEvent;
const clock = new ManualClock(Date.now());
const signer = LocalKeySigner.fromPem(generateP256Pem());
const obs = createObservability('test', { publishMetrics: false });
let table: TestTable;
let shop: ShopTables;
let auth: AuthService;

beforeAll(async () => {
  table = await startTestTable();
  shop = await startShopTables();
  const users = new DynamoUserStore(table);
  const hasher = new PasswordHasher({ ln: 14, r: 8, p: 1 });
  await new UserAdmin(users, hasher, clock).add('alice', 'alice-password-1', ['orders:read', 'orders:write']);
  auth = new AuthService({
    users,
    sessions: new DynamoSessionStore(table),
    hasher,
    throttle: new LoginThrottle(new DynamoThrottleStore(table), { maxFailures: 5, maxFailuresPerUser: 100, maxFailuresPerAddress: 50, windowSeconds: 900 }, clock),
    tokens: new AccessTokenIssuer(signer, { issuer: 'https://issuer.test', audience: 'tokengate-api', accessTokenTtlSeconds: 900 }, clock),
    clock,
    config: { refreshTokenTtlSeconds: 3600, reuseGraceSeconds: 0 },
  });
});
afterAll(async () => {
  await shop.close();
  await table.close();
});

test('login event → 200 with tokens; only the refresh token hash is stored', async () => {
  const handler = createLoginHandler({ auth, obs });
  const res = await handler(ev('login'));
  assert.equal(res.statusCode, 200);
  const body = JSON.parse(res.body) as { access_token: string; refresh_token: string; token_type: string };
  assert.equal(body.token_type, 'Bearer');
  const sessions = new DynamoSessionStore(table);
  const record = await sessions.getRefreshToken(hashRefreshToken(body.refresh_token));
  assert.ok(record, 'stored under its hash');
  const everything = JSON.stringify((await table.client.call('Scan', { TableName: table.tableName })).Items);
  assert.ok(!everything.includes(body.refresh_token), 'the raw refresh token is nowhere in the table');
  assert.ok(!everything.includes(body.refresh_token.slice(3)), 'not even without its prefix');
});

test('login event with bad inputs → 400/401/413, never 500', async () => {
  const handler = createLoginHandler({ auth, obs });
  const base = ev('login');
  const cases: [Partial<APIGatewayProxyEvent>, number][] = [
    [{ body: null }, 400],
    [{ body: '{' }, 400],
    [{ body: '{"username":"alice"}' }, 400],
    [{ body: '{"username":"alice","password":"nope-nope"}' }, 401],
    [{ body: Buffer.from('{"username":"alice","password":"alice-password-1"}').toString('base64'), isBase64Encoded: true }, 200],
    [{ body: JSON.stringify({ username: 'alice', password: 'x'.repeat(9000) }) }, 413],
    [{ body: '{"username":"alice","password":"alice-password-1","__proto__":{"admin":true}}' }, 200],
  ];
  for (const [over, status] of cases) {
    const res = await handler({ ...base, ...over });
    assert.equal(res.statusCode, status, JSON.stringify(over).slice(0, 80));
  }
});

test('jwks event → public keys only', async () => {
  const res = await createJwksHandler(await signer.publicJwks())();
  assert.equal(res.statusCode, 200);
  const { keys } = JSON.parse(res.body) as { keys: Record<string, unknown>[] };
  assert.equal(keys.length, 1);
  assert.ok(!('d' in keys[0]!));
  assert.equal(keys[0]!.kid, signer.kid);
});

test('orders events read the caller from requestContext.authorizer', async () => {
  const handler = createOrdersHandler({ orders: shop.orders, clock });
  const list = await handler(ev('orders-list'));
  assert.equal(list.statusCode, 200);
  assert.equal((JSON.parse(list.body) as { sub: string }).sub, 'alice');
  const created = await handler(ev('orders-create'));
  assert.equal(created.statusCode, 201);
  const { order } = JSON.parse(created.body) as { order: { id: string; item: string; owner: string } };
  assert.equal(order.item, 'espresso');
  assert.equal(order.owner, 'alice');
  const get = ev('orders-get');
  assert.equal((await handler(get)).statusCode, 404);
  assert.equal((await handler({ ...get, pathParameters: { id: order.id } })).statusCode, 200);
  assert.equal((await handler(ev('orders-delete'))).statusCode, 404);
  const noAuth = await handler({ ...ev('orders-list'), requestContext: { ...ev('orders-list').requestContext, authorizer: null } });
  assert.equal(noAuth.statusCode, 401);
  const bad = await handler({ ...ev('orders-create'), body: '{"quantity":"many"}' });
  assert.equal(bad.statusCode, 400);
});
