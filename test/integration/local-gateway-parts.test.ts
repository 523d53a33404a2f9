/**
 * The local gateway's pieces on their own (no HTTP): the route matcher, the bounded TTL cache, authorizer
 * output validation and proxy result mapping.
 */
import { describe, test } from '@jest/globals';
import assert from 'node:assert/strict';
import { routes } from '../helpers/demo-routes.js';
import { AuthorizerCache } from '../../lib/local/authorizer-cache.js';
import { AuthorizerOutputError, isUnauthorizedSignal, parseAuthorizerResult } from '../../lib/local/authorizer-result.js';
import { evaluatePolicy } from '../../lib/local/policy-eval.js';
import { formatRequestTime, isTextContentType } from '../../lib/local/proxy-event.js';
import { mapProxyResult } from '../../lib/local/proxy-result.js';
import { BAD_PATH_ENCODING, Router } from '../../lib/local/router.js';

describe('router', () => {
  const router = new Router([
    ...routes,
    { method: 'GET', path: '/orders/{id}/items/{item}', permission: 'orders:read', handler: 'orders' },
    { method: 'GET', path: '/orders/latest', permission: 'orders:read', handler: 'orders' },
  ]);

  test('literal routes, parameter routes, and a literal beating a parameter', () => {
    const literal = router.match('GET', '/orders/latest');
    assert.ok(literal && literal !== BAD_PATH_ENCODING);
    assert.equal(literal.compiled.route.path, '/orders/latest');
    assert.equal(literal.pathParameters, null);

    const param = router.match('GET', '/orders/7/items/x%2Fy');
    assert.ok(param && param !== BAD_PATH_ENCODING);
    assert.equal(param.compiled.route.path, '/orders/{id}/items/{item}');
    assert.deepEqual(param.pathParameters, { id: '7', item: 'x/y' });
  });

  test('no match for an empty parameter, another method, or another case', () => {
    assert.equal(router.match('GET', '/orders//items/1'), null);
    assert.equal(router.match('PATCH', '/orders/1'), null);
    assert.equal(router.match('GET', '/ORDERS'), null);
    assert.equal(router.match('GET', '/orders/1/2'), null);
  });

  test('bad percent-encoding in a parameter is reported, not thrown', () => {
    assert.equal(router.match('GET', '/orders/%zz'), BAD_PATH_ENCODING);
  });

  test('resource ids are stable and differ per resource', () => {
    const a = router.match('GET', '/orders');
    const b = router.match('POST', '/orders');
    const c = router.match('GET', '/orders/1');
    assert.ok(a && b && c && a !== BAD_PATH_ENCODING && b !== BAD_PATH_ENCODING && c !== BAD_PATH_ENCODING);
    assert.equal(a.compiled.resourceId, b.compiled.resourceId);
    assert.notEqual(a.compiled.resourceId, c.compiled.resourceId);
    assert.match(a.compiled.resourceId, /^[a-z0-9]{6}$/);
  });
});

describe('authorizer cache', () => {
  test('entries live for the TTL', () => {
    const cache = new AuthorizerCache<string>(1000);
    cache.set('k', 'v', 0);
    assert.equal(cache.get('k', 999), 'v');
    assert.equal(cache.get('k', 1000), undefined);
    assert.equal(cache.size, 0);
  });

  test('the cache is bounded: the oldest entry goes first', () => {
    const cache = new AuthorizerCache<number>(60_000, 3);
    for (let i = 0; i < 5; i++) cache.set(`k${i}`, i, 0);
    assert.equal(cache.size, 3);
    assert.equal(cache.get('k0', 1), undefined);
    assert.equal(cache.get('k1', 1), undefined);
    assert.equal(cache.get('k4', 1), 4);
    // refreshing an entry makes it the newest
    cache.set('k2', 22, 1);
    cache.set('k5', 5, 1);
    assert.equal(cache.get('k3', 1), undefined);
    assert.equal(cache.get('k2', 1), 22);
  });
});

describe('authorizer output', () => {
  const ok = { principalId: 'p', policyDocument: { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: 'execute-api:Invoke', Resource: '*' }] } };

  test('context values become strings; undefined members vanish as through JSON', () => {
    const d = parseAuthorizerResult({ ...ok, context: { a: 'x', n: 0, b: false, gone: undefined, ['__proto__']: 'kept' } });
    assert.deepEqual({ ...d.context }, { a: 'x', n: '0', b: 'false', ['__proto__']: 'kept' });
    assert.equal(Object.getPrototypeOf(d.context), Object.prototype);
    assert.equal(evaluatePolicy(d.policy, 'arn:x'), 'allow');
  });

  test('a null or missing context is an empty one', () => {
    assert.deepEqual(parseAuthorizerResult({ ...ok, context: null }).context, {});
    assert.deepEqual(parseAuthorizerResult(ok).context, {});
  });

  test('unusable outputs are refused', () => {
    const cyclic: Record<string, unknown> = { ...ok };
    cyclic.self = cyclic;
    for (const output of [null, 'x', { ...ok, principalId: null }, { ...ok, context: 'x' }, { ...ok, context: { d: [1] } }, cyclic, { ...ok, n: 10n }]) {
      assert.throws(() => parseAuthorizerResult(output), AuthorizerOutputError);
    }
  });

  test('only exactly "Unauthorized" is the 401 signal', () => {
    assert.equal(isUnauthorizedSignal(new Error('Unauthorized')), true);
    assert.equal(isUnauthorizedSignal('Unauthorized'), true);
    assert.equal(isUnauthorizedSignal(new Error('Unauthorized: expired')), false);
    assert.equal(isUnauthorizedSignal(new Error('unauthorized')), false);
    assert.equal(isUnauthorizedSignal(undefined), false);
  });
});

describe('proxy result', () => {
  test('headers and multiValueHeaders merge, multiValueHeaders winning per name (case-insensitively)', () => {
    const r = mapProxyResult({
      statusCode: '201',
      headers: { 'X-A': 'a', 'x-b': 'b', 'Content-Length': '999', Flag: true, Num: 3 },
      multiValueHeaders: { 'X-B': ['b1', 'b2'], 'Set-Cookie': ['c=1', 'd=2'] },
      body: 'hi',
    });
    assert.ok(r);
    assert.equal(r.statusCode, 201);
    assert.deepEqual(r.headers, ['X-A', 'a', 'X-B', 'b1', 'X-B', 'b2', 'Flag', 'true', 'Num', '3', 'Set-Cookie', 'c=1', 'Set-Cookie', 'd=2', 'Content-Type', 'application/json']);
    assert.equal(r.body.toString(), 'hi');
  });

  test('status codes outside 200-599 are malformed', () => {
    for (const statusCode of [100, 199, 600, 200.5, '2000', -1]) assert.equal(mapProxyResult({ statusCode, body: '' }), undefined);
  });

  test('a result over Lambda’s 6 MB response limit is malformed', () => {
    assert.equal(mapProxyResult({ statusCode: 200, body: 'x'.repeat(6 * 1024 * 1024) }), undefined);
  });
});

describe('event helpers', () => {
  test('requestTime format', () => {
    assert.equal(formatRequestTime(Date.UTC(2015, 3, 9, 12, 34, 56)), '09/Apr/2015:12:34:56 +0000');
  });

  test('text and binary content types', () => {
    for (const t of [undefined, 'text/plain', 'application/json', 'application/json; charset=utf-8', 'application/problem+json', 'application/xml', 'application/x-www-form-urlencoded']) {
      assert.equal(isTextContentType(t), true, String(t));
    }
    for (const t of ['application/octet-stream', 'image/png', 'multipart/form-data; boundary=x', 'application/jsonx']) {
      assert.equal(isTextContentType(t), false, t);
    }
  });
});
