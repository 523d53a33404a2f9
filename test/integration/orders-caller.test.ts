/**
 * `exp` reaches the services (issue 9.9): callerFrom reads it from the authorizer context and refuses a caller
 * whose token has expired, and the demo orders service answers such a request 401 like the gateway. API Gateway
 * may serve a cached Allow for a token past its exp (up to the authorizer cache TTL), so this is the last check.
 * The real authorizer's context feeds the real orders handler over the embedded store, with an injected clock.
 */
import { afterAll, beforeAll, test } from '@jest/globals';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import type { APIGatewayProxyEvent } from 'aws-lambda';
import { routes } from '../helpers/demo-routes.js';
import { AccessTokenVerifier } from '../../lambdas/core/access-token.js';
import { ManualClock } from '../../lambdas/core/clock.js';
import { PolicyBuilder } from '../../lambdas/core/policy.js';
import type { RevocationCheck } from '../../lambdas/core/revocation.js';
import { createAuthorizer } from '../../lambdas/authorizer/authorizer.js';
import { callerFrom, CALLER_LEEWAY_SECONDS } from '../../service/index.js';
import { createOrdersHandler } from '../../examples/shop/orders/app.js';
import { goodClaims, jwksOf, newTestKey, signEs256 } from '../helpers/jwt.js';
import { startShopTables, type ShopTables } from '../helpers/shop.js';

const listEvent = JSON.parse(readFileSync(new URL('../events/orders-list.json', import.meta.url), 'utf8')) as APIGatewayProxyEvent;
const METHOD_ARN = 'arn:aws:execute-api:us-east-1:123456789012:abcdef1234/prod/GET/orders';
const key = newTestKey();
const clock = new ManualClock(Date.now());
const nowS = () => Math.floor(clock.now() / 1000);
let shop: ShopTables;
/** callerFrom's clock option at a fixed instant. */
const at = (ms: number) => ({ clock: { now: () => ms } });

beforeAll(async () => {
  shop = await startShopTables();
});
afterAll(async () => shop.close());

/** The authorizer as deployed, but every session live: this is about exp, not revocation. */
const authorizer = createAuthorizer({
  verifier: new AccessTokenVerifier({ issuer: 'https://issuer.test', audience: 'tokengate-api', jwks: jwksOf(key), leewaySeconds: 5, clock }),
  revocation: { assertLive: async () => {} } as unknown as RevocationCheck,
  policy: new PolicyBuilder(routes),
});

/** What API Gateway hands the service for this token: principalId plus the context, every value a string. */
async function eventFor(token: string): Promise<APIGatewayProxyEvent> {
  const result = await authorizer({ type: 'TOKEN', authorizationToken: `Bearer ${token}`, methodArn: METHOD_ARN });
  const context = Object.fromEntries(Object.entries(result.context ?? {}).map(([k, v]) => [k, String(v)]));
  return { ...listEvent, requestContext: { ...listEvent.requestContext, authorizer: { principalId: result.principalId, ...context } } };
}

const contextWith = (authorizer: Record<string, unknown> | null) => ({ requestContext: { ...listEvent.requestContext, authorizer } });

test('callerFrom: exp is typed, and exp + leeway <= now is no caller', () => {
  const exp = nowS() + 60;
  const base = { principalId: 'alice', sub: 'alice', scope: 'orders:read', sid: 's', jti: 'j' };
  const caller = callerFrom(contextWith({ ...base, exp: String(exp) }), { clock });
  assert.equal(caller?.exp, exp);
  assert.equal(caller?.sub, 'alice');
  assert.ok(caller?.can('orders:read') && !caller.can('orders:write'));
  assert.equal(callerFrom(contextWith({ ...base, exp }), { clock })?.exp, exp, 'a number (direct invocation) too');
  // The edge, by the injected clock: alive until one millisecond before exp + leeway.
  assert.ok(callerFrom(contextWith({ ...base, exp: String(exp) }), at((exp + CALLER_LEEWAY_SECONDS) * 1000 - 1)));
  assert.equal(callerFrom(contextWith({ ...base, exp: String(exp) }), at((exp + CALLER_LEEWAY_SECONDS) * 1000)), undefined);
  assert.equal(callerFrom(contextWith({ ...base, exp: String(exp) }), at((exp + 300) * 1000)), undefined);
  // No exp, or one that is not a number: no caller (fail closed).
  for (const bad of [undefined, '', ' ', 'soon', 'NaN', 'Infinity', null, {}]) {
    assert.equal(callerFrom(contextWith({ ...base, exp: bad }), { clock }), undefined, JSON.stringify(bad));
  }
  assert.equal(callerFrom(contextWith(null), { clock }), undefined);
});

test('the authorizer context carries the token\'s exp, per token even when the policy document is shared', async () => {
  const a = await authorizer({ type: 'TOKEN', authorizationToken: `Bearer ${signEs256(key, { alg: 'ES256', typ: 'at+jwt', kid: key.jwk.kid }, goodClaims(nowS(), { exp: nowS() + 100 }))}`, methodArn: METHOD_ARN });
  const b = await authorizer({ type: 'TOKEN', authorizationToken: `Bearer ${signEs256(key, { alg: 'ES256', typ: 'at+jwt', kid: key.jwk.kid }, goodClaims(nowS(), { exp: nowS() + 200 }))}`, methodArn: METHOD_ARN });
  assert.equal(a.context?.exp, String(nowS() + 100));
  assert.equal(b.context?.exp, String(nowS() + 200));
  assert.equal(a.policyDocument, b.policyDocument, 'same scope: one cached policy document');
});

test('the orders service answers 200 for a live caller and 401 once the token has expired (a cached Allow)', async () => {
  const handler = createOrdersHandler({ orders: shop.orders, clock });
  const exp = nowS() + 900;
  const event = await eventFor(signEs256(key, { alg: 'ES256', typ: 'at+jwt', kid: key.jwk.kid }, goodClaims(nowS(), { exp })));
  const ok = await handler(event);
  assert.equal(ok.statusCode, 200);
  assert.equal((JSON.parse(ok.body) as { sub: string }).sub, 'alice');

  // The gateway keeps serving its cached Allow (same event) while the token expires.
  clock.set((exp + CALLER_LEEWAY_SECONDS) * 1000 - 1);
  assert.equal((await handler(event)).statusCode, 200);
  clock.set((exp + CALLER_LEEWAY_SECONDS) * 1000);
  const expired = await handler(event);
  assert.equal(expired.statusCode, 401);
  assert.deepEqual(JSON.parse(expired.body), { message: 'Unauthorized' });
  // Also on the write route: no order is created for an expired caller.
  const post = await handler({ ...event, httpMethod: 'POST', resource: '/orders', body: '{"item":"tea"}' });
  assert.equal(post.statusCode, 401);

  // A context without exp (an authorizer that does not send it) is refused too.
  const { exp: _dropped, ...noExp } = event.requestContext.authorizer as Record<string, unknown>;
  assert.equal((await handler({ ...event, requestContext: { ...event.requestContext, authorizer: noExp } })).statusCode, 401);
});
