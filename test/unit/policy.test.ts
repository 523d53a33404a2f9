import { test } from '@jest/globals';
import assert from 'node:assert/strict';
import { routes } from '../helpers/demo-routes.js';
import { compilePolicy, evaluatePolicy } from '../../lib/local/policy-eval.js';
import { grants, normalizePermissions } from '../../lambdas/core/permissions.js';
import { apiArnPrefix, PolicyBuilder, routeResource } from '../../lambdas/core/policy.js';

const PREFIX = 'arn:aws:execute-api:us-east-1:123456789012:abcdef1234/prod/';
const arn = (method: string, path: string) => `${PREFIX}${method}${path}`;
const builder = new PolicyBuilder(routes);
const ctx = { sub: 'alice' };

test('permission grammar: exact match, resource:* grants every action of that resource only', () => {
  assert.ok(grants(['orders:read'], 'orders:read'));
  assert.ok(!grants(['orders:read'], 'orders:write'));
  assert.ok(grants(['orders:*'], 'orders:admin'));
  assert.ok(!grants(['orders:*'], 'invoices:read'));
  assert.ok(!grants(['orders'], 'orders:read'));
  assert.deepEqual(normalizePermissions(['orders:write', ' orders:read ', 'orders:read']), ['orders:read', 'orders:write']);
  assert.throws(() => normalizePermissions(['*']));
  assert.throws(() => normalizePermissions(['orders:read orders:write']));
});

test('route resources use * for path parameters', () => {
  assert.equal(routeResource('GET', '/orders/{id}'), 'GET/orders/*');
  assert.equal(routeResource('GET', '/orders'), 'GET/orders');
  assert.equal(apiArnPrefix(arn('GET', '/orders/42')), PREFIX);
  assert.equal(apiArnPrefix('not-an-arn'), undefined);
});

test("alice's policy allows GET/POST /orders and GET /orders/* but not DELETE", () => {
  const p = builder.build(arn('GET', '/orders'), 'alice', ['orders:read', 'orders:write'], ctx);
  assert.equal(p.principalId, 'alice');
  assert.deepEqual(p.policyDocument.Statement, [
    { Action: 'execute-api:Invoke', Effect: 'Allow', Resource: [`${PREFIX}GET/orders`, `${PREFIX}POST/orders`, `${PREFIX}GET/orders/*`] },
  ]);
});

test('the same (cached) policy answers every route correctly, whichever route produced it', () => {
  const cases: [string, string, boolean][] = [
    ['GET', '/orders', true],
    ['POST', '/orders', true],
    ['GET', '/orders/42', true],
    ['GET', '/orders/9d3c7d0e-1111-4222-8333-444455556666', true],
    ['DELETE', '/orders/42', false],
    ['PUT', '/orders/42', false],
    ['DELETE', '/orders', false],
  ];
  for (const [firstMethod, firstPath] of cases) {
    // The policy built when the token was first seen on one route, then reused from the cache for all.
    const cached = compilePolicy(builder.build(arn(firstMethod, firstPath), 'alice', ['orders:read', 'orders:write'], ctx).policyDocument);
    for (const [method, path, allowed] of cases) {
      assert.equal(evaluatePolicy(cached, arn(method, path)) === 'allow', allowed, `${method} ${path} after ${firstMethod} ${firstPath}`);
    }
  }
});

test('orders:* grants DELETE; a token without permissions gets an explicit Deny (403, not 401)', () => {
  const admin = compilePolicy(builder.build(arn('DELETE', '/orders/1'), 'admin', ['orders:*'], ctx).policyDocument);
  assert.equal(evaluatePolicy(admin, arn('DELETE', '/orders/1')), 'allow');
  const none = builder.build(arn('GET', '/orders'), 'carol', [], ctx);
  assert.equal(none.policyDocument.Statement[0]!.Effect, 'Deny');
  assert.equal(evaluatePolicy(compilePolicy(none.policyDocument), arn('GET', '/orders')), 'explicit-deny');
});

test('the policy is scoped to the API and stage of the method ARN', () => {
  const p = compilePolicy(builder.build(arn('GET', '/orders'), 'alice', ['orders:read'], ctx).policyDocument);
  assert.equal(evaluatePolicy(p, 'arn:aws:execute-api:us-east-1:123456789012:otherapi/prod/GET/orders'), 'implicit-deny');
  assert.equal(evaluatePolicy(p, 'arn:aws:execute-api:us-east-1:123456789012:abcdef1234/dev/GET/orders'), 'implicit-deny');
});

test('public routes never appear in a policy', () => {
  const p = builder.build(arn('GET', '/orders'), 'admin', ['orders:*'], ctx);
  for (const r of p.policyDocument.Statement[0]!.Resource) assert.ok(!r.includes('/auth/') && !r.includes('.well-known'), r);
});

test('a scope string gives the same policy as its permissions, and the cached document is shared and frozen', () => {
  const b = new PolicyBuilder(routes);
  const fromString = b.build(arn('GET', '/orders'), 'alice', 'orders:read orders:write', ctx);
  const fromList = b.build(arn('DELETE', '/orders/9'), 'dora', ['orders:read', 'orders:write'], { sub: 'dora' });
  assert.equal(fromList.policyDocument, fromString.policyDocument, 'same API stage and permissions: one document');
  assert.equal(fromList.principalId, 'dora');
  assert.ok(Object.isFrozen(fromString.policyDocument.Statement[0]!.Resource));
  const bob = b.build(arn('GET', '/orders'), 'bob', 'orders:read', ctx);
  assert.deepEqual(bob.policyDocument.Statement[0]!.Resource, [`${PREFIX}GET/orders`, `${PREFIX}GET/orders/*`]);
  const otherStage = b.build('arn:aws:execute-api:us-east-1:123456789012:abcdef1234/dev/GET/orders', 'bob', 'orders:read', ctx);
  assert.ok(otherStage.policyDocument.Statement[0]!.Resource.every((r) => r.includes('/dev/')), 'no document leaks across stages');
});
