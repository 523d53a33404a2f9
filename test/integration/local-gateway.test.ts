/**
 * The local REST API Gateway over real HTTP on loopback: gateway responses, the TOKEN authorizer and its
 * cache, the proxy event and the proxy result mapping. Functions are stubs: the gateway is under test.
 * Time moves only through a ManualClock; nothing sleeps.
 */
import { describe, test, expect } from '@jest/globals';
import assert from 'node:assert/strict';
import { Agent, request as httpRequest } from 'node:http';
import { connect } from 'node:net';
import type {
  APIGatewayAuthorizerResult,
  APIGatewayProxyEvent,
  APIGatewayProxyResult,
  APIGatewayTokenAuthorizerEvent,
  Context,
} from 'aws-lambda';
import { ManualClock } from '../../lambdas/core/clock.js';
import { routes, type FunctionName } from '../helpers/demo-routes.js';
import {
  createLocalGateway,
  type LocalGateway,
  type LocalGatewayOptions,
  type ProxyHandler,
} from '../../lib/local/gateway.js';
import { testContext, type TestContext } from '../helpers/test-context.js';

// The test context: t.after(fn) cleans up after the current test (test/helpers/test-context.ts).
const t = testContext();

const TOKEN = 'Bearer aaaa.bbbb.cccc';
const ARN = 'arn:aws:execute-api:us-east-1:123456789012:local/local/';

type AuthorizerFn = (event: APIGatewayTokenAuthorizerEvent) => Promise<APIGatewayAuthorizerResult>;

function policy(
  statements: { Effect: 'Allow' | 'Deny'; Resource: string | string[]; Action?: string }[],
  extra: Partial<APIGatewayAuthorizerResult> = {},
): APIGatewayAuthorizerResult {
  return {
    principalId: 'user-1',
    policyDocument: {
      Version: '2012-10-17',
      Statement: statements.map((s) => ({ Action: s.Action ?? 'execute-api:Invoke', Effect: s.Effect, Resource: s.Resource })),
    },
    ...extra,
  };
}

const allowAll = (): Promise<APIGatewayAuthorizerResult> => Promise.resolve(policy([{ Effect: 'Allow', Resource: `${ARN}*` }]));

interface Harness {
  gw: LocalGateway;
  url: string;
  clock: ManualClock;
  /** Every event each function received. */
  events: Record<FunctionName, APIGatewayProxyEvent[]>;
  contexts: Context[];
  authorizerEvents: APIGatewayTokenAuthorizerEvent[];
  logs: string[];
}

interface HarnessOptions extends Partial<Omit<LocalGatewayOptions, 'authorizer' | 'handlers'>> {
  authorizer?: AuthorizerFn;
  /** Replaces the echo handler of every function. */
  handler?: ProxyHandler;
}

async function start(t: TestContext, options: HarnessOptions = {}): Promise<Harness> {
  const clock = new ManualClock();
  const events = { login: [], refresh: [], logout: [], jwks: [], orders: [] } as Record<FunctionName, APIGatewayProxyEvent[]>;
  const contexts: Context[] = [];
  const authorizerEvents: APIGatewayTokenAuthorizerEvent[] = [];
  const logs: string[] = [];
  const echo =
    (name: FunctionName): ProxyHandler =>
    async (event, context) => {
      events[name].push(event);
      contexts.push(context);
      if (options.handler) return options.handler(event, context);
      return { statusCode: 200, headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ fn: name }) };
    };
  const authorizer = options.authorizer ?? allowAll;
  const { authorizer: _a, handler: _h, ...rest } = options;
  const gw = createLocalGateway({
    routes,
    authorizerCacheTtlSeconds: 300,
    clock,
    log: (line) => logs.push(line),
    ...rest,
    handlers: { login: echo('login'), refresh: echo('refresh'), logout: echo('logout'), jwks: echo('jwks'), orders: echo('orders') },
    authorizer: async (event) => {
      authorizerEvents.push(event);
      return authorizer(event);
    },
  });
  const { url } = await gw.listen(0);
  t.after(() => gw.close());
  return { gw, url, clock, events, contexts, authorizerEvents, logs };
}

async function call(
  h: Harness,
  method: string,
  path: string,
  init: { token?: string | null; headers?: Record<string, string>; body?: string | Uint8Array<ArrayBuffer> } = {},
): Promise<{ status: number; headers: Headers; text: string; json: unknown }> {
  const headers: Record<string, string> = { ...init.headers };
  const token = init.token === undefined ? TOKEN : init.token;
  if (token !== null) headers.authorization = token;
  const res = await fetch(h.url + path, { method, headers, body: init.body });
  const text = await res.text();
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: res.status, headers: res.headers, text, json };
}

function assertGatewayError(
  r: { status: number; headers: Headers; text: string },
  status: number,
  errorType: string,
  body: string,
): void {
  assert.equal(r.status, status);
  assert.equal(r.text, body);
  assert.equal(r.headers.get('x-amzn-errortype'), errorType);
  assert.equal(r.headers.get('content-type'), 'application/json');
  assert.match(r.headers.get('x-amzn-requestid') ?? '', /^[0-9a-f-]{36}$/);
}

const UNAUTHORIZED = '{"message":"Unauthorized"}';
const EXPLICIT_DENY = '{"Message":"User is not authorized to access this resource with an explicit deny"}';
const IMPLICIT_DENY = '{"Message":"User is not authorized to access this resource"}';
const CONFIG_ERROR = '{"message":null}';
const MISSING_TOKEN = '{"message":"Missing Authentication Token"}';
const INTERNAL = '{"message": "Internal server error"}';

describe('routing', () => {
  test('an unknown path or method is 403 Missing Authentication Token, before any authorizer', async () => {
    const h = await start(t);
    for (const [method, path] of [
      ['GET', '/nope'],
      ['PUT', '/orders'],
      ['GET', '/orders/1/items'],
      ['GET', '/Orders'],
      ['GET', '/'],
    ] as const) {
      assertGatewayError(await call(h, method, path), 403, 'MissingAuthenticationTokenException', MISSING_TOKEN);
    }
    assert.equal(h.gw.stats.authorizerInvocations, 0);
  });

  test('a public route is served without the authorizer, and without requestContext.authorizer', async () => {
    const h = await start(t);
    const r = await call(h, 'GET', '/.well-known/jwks.json', { token: null });
    assert.equal(r.status, 200);
    assert.deepEqual(r.json, { fn: 'jwks' });
    assert.equal(h.gw.stats.authorizerInvocations, 0);
    assert.equal(h.events.jwks[0]?.requestContext.authorizer, undefined);
  });

  test('a trailing slash reaches the resource, like a REST API', async () => {
    const h = await start(t);
    assert.equal((await call(h, 'GET', '/orders/')).status, 200);
    assert.equal(h.events.orders[0]?.resource, '/orders');
    assert.equal(h.events.orders[0]?.path, '/orders/');
  });

  test('bad percent-encoding in a path parameter is a 400, not a crash', async () => {
    const h = await start(t);
    assertGatewayError(await call(h, 'GET', '/orders/%E0%A4%A'), 400, 'BadRequestException', '{"message":"Bad Request"}');
    assert.equal((await call(h, 'GET', '/orders/ok')).status, 200);
  });
});

describe('token authorizer', () => {
  test('no Authorization header: 401 without invoking the authorizer', async () => {
    const h = await start(t);
    assertGatewayError(await call(h, 'GET', '/orders', { token: null }), 401, 'UnauthorizedException', UNAUTHORIZED);
    assertGatewayError(await call(h, 'GET', '/orders', { token: '' }), 401, 'UnauthorizedException', UNAUTHORIZED);
    assert.equal(h.gw.stats.authorizerInvocations, 0);
  });

  test('a header failing the identity validation expression: 401 without invoking the authorizer', async () => {
    const h = await start(t);
    for (const token of ['Basic dXNlcjpwYXNz', 'Bearer abc', 'Bearer a.b', 'bearer a.b.c', 'Bearer a.b.c.d', 'Bearer a.b.c d']) {
      assertGatewayError(await call(h, 'GET', '/orders', { token }), 401, 'UnauthorizedException', UNAUTHORIZED);
    }
    assert.equal(h.gw.stats.authorizerInvocations, 0);
  });

  test('a custom validation expression must match the whole value, and a global flag does not make it flaky', async () => {
    const h = await start(t, { identityValidationRegex: /token-\d+/g });
    assert.equal((await call(h, 'GET', '/orders', { token: 'token-1' })).status, 200);
    assert.equal((await call(h, 'GET', '/orders', { token: 'token-1' })).status, 200);
    assert.equal((await call(h, 'GET', '/orders', { token: 'xtoken-1' })).status, 401);
  });

  test('the authorizer gets the full header value and a method ARN with the concrete path', async () => {
    const h = await start(t, { region: 'eu-west-1', accountId: '111122223333', apiId: 'abc123', stage: 'prod', authorizer: async () => policy([{ Effect: 'Allow', Resource: 'arn:aws:execute-api:eu-west-1:111122223333:abc123/prod/*' }]) });
    assert.equal((await call(h, 'DELETE', '/orders/ord-42?x=1')).status, 200);
    assert.deepEqual(h.authorizerEvents, [
      {
        type: 'TOKEN',
        authorizationToken: TOKEN,
        methodArn: 'arn:aws:execute-api:eu-west-1:111122223333:abc123/prod/DELETE/orders/ord-42',
      },
    ]);
  });

  test('the authorizer throwing "Unauthorized" is a 401, and is not cached', async () => {
    const h = await start(t, {
      authorizer: async () => {
        throw new Error('Unauthorized');
      },
    });
    assertGatewayError(await call(h, 'GET', '/orders'), 401, 'UnauthorizedException', UNAUTHORIZED);
    assertGatewayError(await call(h, 'GET', '/orders'), 401, 'UnauthorizedException', UNAUTHORIZED);
    assert.equal(h.gw.stats.authorizerInvocations, 2);
    assert.equal(h.gw.stats.cacheHits, 0);
  });

  test('an explicit Deny is a 403 with the explicit-deny message', async () => {
    const h = await start(t, {
      authorizer: async () => policy([{ Effect: 'Allow', Resource: `${ARN}*` }, { Effect: 'Deny', Resource: `${ARN}GET/orders` }]),
    });
    assertGatewayError(await call(h, 'GET', '/orders'), 403, 'AccessDeniedException', EXPLICIT_DENY);
    assert.equal(h.events.orders.length, 0);
  });

  test('no matching Allow is a 403 with the implicit-deny message', async () => {
    const h = await start(t, { authorizer: async () => policy([{ Effect: 'Allow', Resource: `${ARN}POST/orders` }]) });
    assertGatewayError(await call(h, 'GET', '/orders'), 403, 'AccessDeniedException', IMPLICIT_DENY);
    assert.equal(h.events.orders.length, 0);
  });

  const malformed: [string, AuthorizerFn][] = [
    ['throws another error', async () => Promise.reject(new Error('jwks fetch failed'))],
    ['throws "unauthorized" (case matters)', async () => Promise.reject(new Error('unauthorized'))],
    ['returns nothing', async () => undefined as unknown as APIGatewayAuthorizerResult],
    ['omits principalId', async () => ({ ...policy([{ Effect: 'Allow', Resource: '*' }]), principalId: undefined as unknown as string })],
    ['gives a numeric principalId', async () => ({ ...policy([{ Effect: 'Allow', Resource: '*' }]), principalId: 7 as unknown as string })],
    ['omits policyDocument', async () => ({ principalId: 'u' }) as APIGatewayAuthorizerResult],
    ['gives a statement without Resource', async () => ({ principalId: 'u', policyDocument: { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: 'execute-api:Invoke' }] } }) as unknown as APIGatewayAuthorizerResult],
    ['gives a lowercase Effect', async () => ({ principalId: 'u', policyDocument: { Version: '2012-10-17', Statement: [{ Effect: 'allow', Action: 'execute-api:Invoke', Resource: '*' }] } }) as unknown as APIGatewayAuthorizerResult],
    ['puts an object in context', async () => policy([{ Effect: 'Allow', Resource: '*' }], { context: { nested: { a: 1 } } as unknown as Record<string, string> })],
    ['puts an array in context', async () => policy([{ Effect: 'Allow', Resource: '*' }], { context: { list: ['a'] } as unknown as Record<string, string> })],
    ['puts null in context', async () => policy([{ Effect: 'Allow', Resource: '*' }], { context: { gone: null } })],
  ];
  for (const [name, authorizer] of malformed) {
    test(`an authorizer that ${name} is a 500 AuthorizerConfigurationException, not cached`, async () => {
      const reported: unknown[] = [];
      const h = await start(t, { authorizer, onFunctionError: (e) => reported.push(e) });
      assertGatewayError(await call(h, 'GET', '/orders'), 500, 'AuthorizerConfigurationException', CONFIG_ERROR);
      assertGatewayError(await call(h, 'GET', '/orders'), 500, 'AuthorizerConfigurationException', CONFIG_ERROR);
      assert.equal(h.gw.stats.authorizerInvocations, 2);
      assert.equal(h.events.orders.length, 0);
      assert.equal(reported.length, 2);
    });
  }

  test('principalId and the context (stringified) reach requestContext.authorizer', async () => {
    const h = await start(t, {
      authorizer: async () =>
        policy([{ Effect: 'Allow', Resource: `${ARN}*` }], {
          principalId: 'alice',
          context: { sub: 'alice', scope: 'orders:read', n: 42, f: 1.5, yes: true, no: false },
        }),
    });
    assert.equal((await call(h, 'GET', '/orders')).status, 200);
    const authorizer = h.events.orders[0]?.requestContext.authorizer as Record<string, unknown>;
    const { integrationLatency, ...rest } = authorizer;
    assert.deepEqual(rest, { sub: 'alice', scope: 'orders:read', n: '42', f: '1.5', yes: 'true', no: 'false', principalId: 'alice' });
    assert.equal(typeof integrationLatency, 'number');
  });
});

describe('authorizer cache', () => {
  test('within the TTL the authorizer is not invoked again; once the TTL has passed it is', async () => {
    const h = await start(t, { authorizerCacheTtlSeconds: 60 });
    assert.equal((await call(h, 'GET', '/orders')).status, 200);
    h.clock.advanceSeconds(59);
    assert.equal((await call(h, 'GET', '/orders')).status, 200);
    assert.deepEqual(h.gw.stats, { authorizerInvocations: 1, cacheHits: 1 });
    assert.equal((h.events.orders[1]?.requestContext.authorizer as Record<string, unknown>).principalId, 'user-1');
    h.clock.advanceSeconds(1);
    assert.equal((await call(h, 'GET', '/orders')).status, 200);
    assert.deepEqual(h.gw.stats, { authorizerInvocations: 2, cacheHits: 1 });
  });

  test('the cache key is the whole header value', async () => {
    const h = await start(t);
    await call(h, 'GET', '/orders');
    await call(h, 'GET', '/orders', { token: 'Bearer othr.tokn.valu' });
    assert.equal(h.gw.stats.authorizerInvocations, 2);
  });

  test('TTL 0 never caches', async () => {
    const h = await start(t, { authorizerCacheTtlSeconds: 0 });
    for (let i = 0; i < 3; i++) assert.equal((await call(h, 'GET', '/orders')).status, 200);
    assert.deepEqual(h.gw.stats, { authorizerInvocations: 3, cacheHits: 0 });
  });

  test('a cached policy is re-evaluated for each route', async () => {
    const h = await start(t, {
      authorizer: async () => policy([{ Effect: 'Allow', Resource: [`${ARN}GET/orders`, `${ARN}GET/orders/*`] }]),
    });
    assert.equal((await call(h, 'GET', '/orders')).status, 200);
    assert.equal((await call(h, 'GET', '/orders/1')).status, 200);
    assertGatewayError(await call(h, 'DELETE', '/orders/1'), 403, 'AccessDeniedException', IMPLICIT_DENY);
    assertGatewayError(await call(h, 'POST', '/orders'), 403, 'AccessDeniedException', IMPLICIT_DENY);
    assert.deepEqual(h.gw.stats, { authorizerInvocations: 1, cacheHits: 3 });
  });

  test('a Deny answer is cached too', async () => {
    const h = await start(t, { authorizer: async () => policy([{ Effect: 'Deny', Resource: `${ARN}*` }]) });
    assert.equal((await call(h, 'GET', '/orders')).status, 403);
    assert.equal((await call(h, 'GET', '/orders/2')).status, 403);
    assert.deepEqual(h.gw.stats, { authorizerInvocations: 1, cacheHits: 1 });
  });

  test('errors are not cached: after a 401 or a 500 the next request asks again', async () => {
    let answer: 'unauthorized' | 'broken' | 'allow' = 'unauthorized';
    const h = await start(t, {
      authorizer: async () => {
        if (answer === 'unauthorized') throw new Error('Unauthorized');
        if (answer === 'broken') throw new TypeError('boom');
        return policy([{ Effect: 'Allow', Resource: `${ARN}*` }]);
      },
    });
    assert.equal((await call(h, 'GET', '/orders')).status, 401);
    answer = 'broken';
    assert.equal((await call(h, 'GET', '/orders')).status, 500);
    answer = 'allow';
    assert.equal((await call(h, 'GET', '/orders')).status, 200);
    assert.equal((await call(h, 'GET', '/orders')).status, 200);
    assert.deepEqual(h.gw.stats, { authorizerInvocations: 3, cacheHits: 1 });
  });
});

describe('proxy integration', () => {
  test('the event carries path, resource, headers, stage and request context like API Gateway', async () => {
    const h = await start(t);
    const r = await call(h, 'POST', '/orders', {
      headers: { 'X-Custom-Header': 'v1', 'content-type': 'application/json', 'user-agent': 'tests/1.0' },
      body: '{"item":"widget"}',
    });
    assert.equal(r.status, 200);
    const e = h.events.orders[0] as APIGatewayProxyEvent;
    assert.equal(e.resource, '/orders');
    assert.equal(e.path, '/orders');
    assert.equal(e.httpMethod, 'POST');
    assert.equal(e.body, '{"item":"widget"}');
    assert.equal(e.isBase64Encoded, false);
    assert.equal(e.headers['X-Custom-Header'], 'v1');
    assert.deepEqual(e.multiValueHeaders['X-Custom-Header'], ['v1']);
    assert.equal(e.headers.Authorization, TOKEN);
    assert.equal(e.headers['User-Agent'], 'tests/1.0');
    assert.equal(e.headers['X-Forwarded-For'], '127.0.0.1');
    assert.equal(e.headers['content-length'], undefined);
    assert.equal(e.queryStringParameters, null);
    assert.equal(e.multiValueQueryStringParameters, null);
    assert.equal(e.pathParameters, null);
    assert.equal(e.stageVariables, null);
    const rc = e.requestContext;
    assert.equal(rc.stage, 'local');
    assert.equal(rc.path, '/local/orders');
    assert.equal(rc.resourcePath, '/orders');
    assert.equal(rc.httpMethod, 'POST');
    assert.equal(rc.accountId, '123456789012');
    assert.equal(rc.apiId, 'local');
    assert.equal(rc.requestTimeEpoch, h.clock.now());
    assert.equal(rc.requestTime, '01/Jan/2026:00:00:00 +0000');
    assert.equal(rc.identity.sourceIp, '127.0.0.1');
    assert.equal(rc.identity.userAgent, 'tests/1.0');
    assert.equal(rc.requestId, r.headers.get('x-amzn-requestid'));
    const ctx = h.contexts[0] as Context;
    assert.equal(ctx.functionName, 'orders');
    assert.match(ctx.awsRequestId, /^[0-9a-f-]{36}$/);
    assert.ok(ctx.getRemainingTimeInMillis() > 28_000);
  });

  test('query string and path parameters are mapped and decoded', async () => {
    const h = await start(t);
    assert.equal((await call(h, 'GET', '/orders/a%20b%2Fc?tag=x&tag=y&q=a+b%26c&empty&sort=-+createdAt')).status, 200);
    const e = h.events.orders[0] as APIGatewayProxyEvent;
    assert.equal(e.resource, '/orders/{id}');
    assert.equal(e.path, '/orders/a%20b%2Fc');
    assert.equal(e.requestContext.path, '/local/orders/a%20b%2Fc');
    assert.deepEqual(e.pathParameters, { id: 'a b/c' });
    assert.deepEqual(e.queryStringParameters, { tag: 'y', q: 'a b&c', empty: '', sort: '- createdAt' });
    assert.deepEqual(e.multiValueQueryStringParameters, { tag: ['x', 'y'], q: ['a b&c'], empty: [''], sort: ['- createdAt'] });
  });

  test('repeated request headers: last value in headers, all of them in multiValueHeaders', async () => {
    const h = await start(t);
    const port = Number(new URL(h.url).port);
    const raw = await new Promise<string>((resolve, reject) => {
      const socket = connect(port, '127.0.0.1', () => {
        socket.write(
          `GET /orders HTTP/1.1\r\nHost: localhost\r\nX-Multi: one\r\nX-Multi: two\r\n` +
            `Authorization: ${TOKEN}\r\nconstructor: c\r\n__proto__: p\r\nConnection: close\r\n\r\n`,
        );
      });
      let text = '';
      socket.setEncoding('utf8');
      socket.on('data', (c: string) => (text += c));
      socket.on('end', () => resolve(text));
      socket.on('error', reject);
    });
    const status = Number(raw.slice(9, 12));
    assert.equal(status, 200);
    const e = h.events.orders[0] as APIGatewayProxyEvent;
    assert.equal(e.headers['X-Multi'], 'two');
    assert.deepEqual(e.multiValueHeaders['X-Multi'], ['one', 'two']);
    assert.deepEqual(e.multiValueHeaders.constructor, ['c']);
    assert.equal(Object.getPrototypeOf(e.headers), Object.prototype);
    assert.equal(Object.hasOwn(e.headers, '__proto__'), false);
  });

  test('a binary body is base64-encoded for the function', async () => {
    const h = await start(t);
    const bytes = new Uint8Array([0, 1, 2, 250, 255]);
    await call(h, 'POST', '/orders', { headers: { 'content-type': 'application/octet-stream' }, body: bytes });
    const e = h.events.orders[0] as APIGatewayProxyEvent;
    assert.equal(e.isBase64Encoded, true);
    assert.equal(e.body, Buffer.from(bytes).toString('base64'));
  });

  test('statusCode, headers, several Set-Cookie values and a base64 body come back as sent', async () => {
    const h = await start(t, {
      handler: async () => ({
        statusCode: 201,
        headers: { 'Content-Type': 'application/octet-stream', 'X-One': 'single', 'X-Both': 'from-headers' },
        multiValueHeaders: { 'Set-Cookie': ['a=1; HttpOnly', 'b=2; Secure'], 'X-Both': ['m1', 'm2'] },
        body: Buffer.from([1, 2, 3]).toString('base64'),
        isBase64Encoded: true,
      }),
    });
    const res = await fetch(`${h.url}/orders`, { method: 'POST', headers: { authorization: TOKEN } });
    assert.equal(res.status, 201);
    assert.equal(res.headers.get('content-type'), 'application/octet-stream');
    assert.equal(res.headers.get('x-one'), 'single');
    assert.equal(res.headers.get('x-both'), 'm1, m2');
    expect(res.headers.getSetCookie()).toEqual(['a=1; HttpOnly', 'b=2; Secure']);
    assert.match(res.headers.get('x-amzn-requestid') ?? '', /^[0-9a-f-]{36}$/);
    assert.equal(res.headers.get('x-amzn-errortype'), null);
    assert.deepEqual([...new Uint8Array(await res.arrayBuffer())], [1, 2, 3]);
  });

  test('Content-Type defaults to application/json; 204 has no body', async () => {
    let status = 200;
    const h = await start(t, { handler: async () => ({ statusCode: status, body: status === 204 ? '' : '{"ok":true}' }) });
    const ok = await call(h, 'GET', '/orders');
    assert.equal(ok.headers.get('content-type'), 'application/json');
    assert.equal(ok.text, '{"ok":true}');
    status = 204;
    const empty = await call(h, 'DELETE', '/orders/1');
    assert.equal(empty.status, 204);
    assert.equal(empty.text, '');
  });

  test('a function that throws is a 502 Internal server error', async () => {
    const reported: unknown[] = [];
    const h = await start(t, {
      handler: async () => {
        throw new Error('database on fire');
      },
      onFunctionError: (e) => reported.push(e),
    });
    assertGatewayError(await call(h, 'GET', '/orders'), 502, 'InternalServerErrorException', INTERNAL);
    assert.equal((reported[0] as Error).message, 'database on fire');
  });

  const badResults: [string, unknown][] = [
    ['undefined', undefined],
    ['a string', 'hello'],
    ['an object body', { statusCode: 200, body: { not: 'a string' } }],
    ['an unknown key', { statusCode: 200, body: '', cookies: ['a=1'] }],
    ['a bad statusCode', { statusCode: 'OK', body: '' }],
    ['a null header value', { statusCode: 200, headers: { 'X-A': null }, body: '' }],
    ['a header value with a newline', { statusCode: 200, headers: { 'X-A': 'a\r\nInjected: 1' }, body: '' }],
  ];
  for (const [name, result] of badResults) {
    test(`a function returning ${name} is a 502`, async () => {
      const h = await start(t, { handler: async () => result as APIGatewayProxyResult });
      assertGatewayError(await call(h, 'GET', '/orders'), 502, 'InternalServerErrorException', INTERNAL);
    });
  }

  test('a missing statusCode defaults to 200', async () => {
    const h = await start(t, { handler: async () => ({ body: 'x' }) as APIGatewayProxyResult });
    const r = await call(h, 'GET', '/orders');
    assert.equal(r.status, 200);
    assert.equal(r.text, 'x');
  });
});

describe('request limits and robustness', () => {
  test('a declared body over maxBodyBytes is a 413 Request Too Long, the function is not invoked', async () => {
    const h = await start(t, { maxBodyBytes: 1024 });
    const r = await call(h, 'POST', '/auth/login', { token: null, body: 'x'.repeat(1025) });
    assertGatewayError(r, 413, 'RequestTooLargeException', '{"message":"Request Too Long"}');
    assert.equal(h.events.login.length, 0);
    assert.equal((await call(h, 'POST', '/auth/login', { token: null, body: 'x'.repeat(1024) })).status, 200);
  });

  test('a chunked body crossing maxBodyBytes is a 413 too', async () => {
    const h = await start(t, { maxBodyBytes: 1024 });
    const { status, body } = await new Promise<{ status: number; body: string }>((resolve, reject) => {
      const req = httpRequest(`${h.url}/auth/login`, { method: 'POST' }, (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (text += c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }));
      });
      req.on('error', reject);
      req.write('x'.repeat(800));
      req.write('x'.repeat(800));
      req.end();
    });
    assert.equal(status, 413);
    assert.equal(body, '{"message":"Request Too Long"}');
    assert.equal(h.events.login.length, 0);
  });

  test('keep-alive connections are reused, and close() ends them', async () => {
    const h = await start(t);
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    t.after(() => agent.destroy());
    const get = (): Promise<{ status: number; reused: boolean }> =>
      new Promise((resolve, reject) => {
        const req = httpRequest(`${h.url}/.well-known/jwks.json`, { agent }, (res) => {
          res.resume();
          res.on('end', () => resolve({ status: res.statusCode ?? 0, reused: req.reusedSocket }));
        });
        req.on('error', reject);
        req.end();
      });
    assert.deepEqual(await get(), { status: 200, reused: false });
    assert.deepEqual(await get(), { status: 200, reused: true });
    await h.gw.close();
    const port = Number(new URL(h.url).port);
    await assert.rejects(
      new Promise((resolve, reject) => {
        const socket = connect(port, '127.0.0.1', () => {
          socket.destroy();
          resolve(undefined);
        });
        socket.on('error', reject);
      }),
      /ECONNREFUSED/,
    );
  });

  test('a client that disconnects while the function runs does not hurt the gateway', async () => {
    let release: () => void = () => {};
    let signalStarted: () => void = () => {};
    const running = new Promise<void>((r) => (signalStarted = r));
    const h = await start(t, {
      handler: (event) =>
        event.resource !== '/orders'
          ? Promise.resolve({ statusCode: 200, body: 'ok' })
          : new Promise((resolve) => {
              signalStarted();
              release = () => resolve({ statusCode: 200, body: 'late' });
            }),
    });
    const controller = new AbortController();
    const pending = fetch(`${h.url}/orders`, { headers: { authorization: TOKEN }, signal: controller.signal });
    await running;
    controller.abort();
    await assert.rejects(pending);
    release();
    // the gateway still serves
    assert.equal((await call(h, 'GET', '/.well-known/jwks.json', { token: null })).status, 200);
  });

  test('oversized request headers are refused with a 4xx, and the gateway keeps serving', async () => {
    const h = await start(t);
    const status = await new Promise<number>((resolve, reject) => {
      const req = httpRequest(`${h.url}/orders`, { headers: { authorization: TOKEN, 'x-big': 'a'.repeat(40_000) } }, (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      });
      req.on('error', reject);
      req.end();
    });
    assert.ok(status >= 400 && status < 500, `status ${status}`);
    assert.equal((await call(h, 'GET', '/orders')).status, 200);
  });

  test('one access-log line per request, without tokens or query strings', async () => {
    const h = await start(t);
    await call(h, 'GET', '/orders?secret=shh');
    await call(h, 'GET', '/nope', { token: null });
    await h.gw.close();
    assert.equal(h.logs.length, 2);
    assert.match(h.logs[0] as string, /"GET \/orders" 200 /);
    assert.match(h.logs[1] as string, /"GET \/nope" 403 /);
    for (const line of h.logs) {
      assert.ok(!line.includes('aaaa.bbbb.cccc'));
      assert.ok(!line.includes('secret'));
    }
  });
});
