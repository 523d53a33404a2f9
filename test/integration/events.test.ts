/**
 * Events kept true (issue 11): test/events/ is exactly what the generator makes from the route declaration (one
 * event per route and per authorizer case, plus the edge shapes), every event carries every key SAM's generated
 * events carry, and each edge shape is answered by the real Lambda entries (lambdas/<fn>/handler.ts, initialised
 * from the environment as Lambda does) with a clear 4xx or the right result, never a crash or a 500.
 */
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { APIGatewayAuthorizerResult, APIGatewayProxyEvent, APIGatewayProxyResult, APIGatewayTokenAuthorizerEvent } from 'aws-lambda';
import sampleApp from '../../examples/shop/app.js';
import { fixtureEvents, fixtureName, proxyEvent, serializeEvent, SAMPLE_API, methodArn } from '../../lib/local/events.js';
import { resolveFunction, REPO_ROOT } from '../../lib/local/functions.js';
import { allRoutes, AUTH_ROUTES } from '../../lib/routes.js';
import { jwtPayload, login, startTestStack, DEMO, type TestStack } from '../helpers/local.js';

const dir = fileURLToPath(new URL('../events/', import.meta.url));
const read = <T>(name: string): T => JSON.parse(readFileSync(`${dir}${name}.json`, 'utf8')) as T;

/** Every key path of `sam local generate-event apigateway aws-proxy` (SAM CLI's AwsProxy.json). */
const SAM_PROXY_KEYS = [
  'body', 'resource', 'path', 'httpMethod', 'isBase64Encoded', 'queryStringParameters', 'multiValueQueryStringParameters',
  'pathParameters', 'stageVariables', 'headers', 'multiValueHeaders', 'requestContext', 'requestContext.accountId',
  'requestContext.resourceId', 'requestContext.stage', 'requestContext.requestId', 'requestContext.requestTime',
  'requestContext.requestTimeEpoch', 'requestContext.identity', 'requestContext.identity.cognitoIdentityPoolId',
  'requestContext.identity.accountId', 'requestContext.identity.cognitoIdentityId', 'requestContext.identity.caller',
  'requestContext.identity.accessKey', 'requestContext.identity.sourceIp', 'requestContext.identity.cognitoAuthenticationType',
  'requestContext.identity.cognitoAuthenticationProvider', 'requestContext.identity.userArn', 'requestContext.identity.userAgent',
  'requestContext.identity.user', 'requestContext.path', 'requestContext.resourcePath', 'requestContext.httpMethod',
  'requestContext.apiId', 'requestContext.protocol',
];
/** `sam local generate-event apigateway authorizer` (ApiGatewayAuthorizer.json). */
const SAM_AUTHORIZER_KEYS = ['type', 'authorizationToken', 'methodArn'];

const has = (obj: unknown, path: string): boolean => {
  let at: unknown = obj;
  for (const part of path.split('.')) {
    if (at === null || typeof at !== 'object' || !Object.hasOwn(at, part)) return false;
    at = (at as Record<string, unknown>)[part];
  }
  return true;
};

describe('test/events/ is generated from the route declaration', () => {
  const generated = fixtureEvents(sampleApp);
  const files = readdirSync(dir).filter((f) => f.endsWith('.json')).map((f) => f.slice(0, -5)).sort();

  test('exactly the generated events are checked in, byte for byte (npm run event -- fixtures rewrites them)', () => {
    expect(files).toEqual(Object.keys(generated).sort());
    for (const name of files) expect(`${name}: ${readFileSync(`${dir}${name}.json`, 'utf8')}`).toBe(`${name}: ${serializeEvent(generated[name])}`);
  });

  test('one event per route (tokengate and the app) and one per authorizer case', () => {
    for (const route of allRoutes(sampleApp)) {
      const e = read<APIGatewayProxyEvent>(fixtureName(route));
      expect([e.httpMethod, e.resource]).toEqual([route.method, route.path]);
      // Behind the authorizer exactly when the route is protected.
      expect(e.requestContext.authorizer === null).toBe(route.permission === null);
    }
    for (const name of ['authorizer-token', 'authorizer-garbage', 'authorizer-basic', 'authorizer-other-api', 'authorizer-not-an-arn']) {
      expect(read<APIGatewayTokenAuthorizerEvent>(name).type).toBe('TOKEN');
    }
  });

  test("every event carries every key SAM's generated events carry", () => {
    for (const [name, e] of Object.entries(generated)) {
      const keys = 'type' in e ? SAM_AUTHORIZER_KEYS : SAM_PROXY_KEYS;
      expect(`${name}: ${keys.filter((k) => !has(e, k)).join(', ')}`).toBe(`${name}: `);
    }
    // The CLI's events too (query string, base64, extra headers).
    const cli = proxyEvent({ method: 'get', path: '/orders/42', routes: allRoutes(sampleApp), query: 'a=1&a=2&b=x+y', headers: { 'X-Trace': 't' } });
    expect(SAM_PROXY_KEYS.filter((k) => !has(cli, k))).toEqual([]);
    expect(cli.pathParameters).toEqual({ id: '42' });
    expect(cli.resource).toBe('/orders/{id}');
    expect(cli.multiValueQueryStringParameters).toEqual({ a: ['1', '2'], b: ['x y'] });
    expect(cli.queryStringParameters).toEqual({ a: '2', b: 'x y' });
    expect(cli.requestContext.path).toBe(`/${SAMPLE_API.stage}/orders/42`);
  });

  test('an unknown route is refused with the routes there are', () => {
    expect(() => proxyEvent({ method: 'GET', path: '/nope', routes: allRoutes(sampleApp) })).toThrow(/no route GET \/nope in the route declaration \(routes: POST \/auth\/login/);
  });
});

describe('events against the real Lambda entries', () => {
  let h: TestStack;
  type Proxy = (e: APIGatewayProxyEvent) => Promise<APIGatewayProxyResult>;
  const fns: Record<string, unknown> = {};
  const proxy = (name: string) => fns[name] as Proxy;
  const authorize = (e: APIGatewayTokenAuthorizerEvent) => (fns.authorizer as (e: APIGatewayTokenAuthorizerEvent) => Promise<APIGatewayAuthorizerResult>)(e);
  const withToken = <T extends object>(e: T, token: string): T => JSON.parse(JSON.stringify(e).replaceAll('REPLACED_BY_TEST', token)) as T;
  const saved = { ...process.env };

  beforeAll(async () => {
    h = await startTestStack();
    // The environment npm start gives its functions (lib/local/stack.ts), then each entry module as Lambda loads it.
    Object.assign(process.env, h.stack.env, { POWERTOOLS_METRICS_DISABLED: 'true', POWERTOOLS_LOG_LEVEL: 'CRITICAL' });
    const names = [...new Set([...AUTH_ROUTES.map((r) => r.handler), 'authorizer', 'orders'])];
    for (const name of names) {
      const fn = resolveFunction(name, { file: `${REPO_ROOT}examples/shop/app.ts`, app: sampleApp });
      fns[name] = ((await import(pathToFileURL(fn.entry).href)) as Record<string, unknown>)[fn.exportName];
    }
  });
  afterAll(async () => {
    for (const k of Object.keys(process.env)) if (!(k in saved)) delete process.env[k];
    Object.assign(process.env, saved);
    await h?.close();
  });

  test("tokengate's route events: login 200, placeholder tokens 401, jwks 200; never a 5xx", async () => {
    expect((await proxy('login')(read('login'))).statusCode).toBe(200);
    expect((await proxy('refresh')(read('refresh'))).statusCode).toBe(401);
    expect((await proxy('logout')(read('logout'))).statusCode).toBe(401);
    const jwks = await proxy('jwks')(read('jwks'));
    expect(jwks.statusCode).toBe(200);
    expect((JSON.parse(jwks.body) as { keys: unknown[] }).keys).toHaveLength(1);
  });

  test('the app routes served by a handler in this tree answer their events with no 5xx', async () => {
    const statuses: Record<string, number> = {};
    for (const route of sampleApp.routes) {
      if (!(route.handler in fns)) continue;
      statuses[fixtureName(route)] = (await proxy(route.handler)(read(fixtureName(route)))).statusCode;
    }
    expect(statuses['orders-list']).toBe(200);
    expect(statuses['orders-create']).toBe(201);
    for (const [name, status] of Object.entries(statuses)) expect(`${name} ${status < 500}`).toBe(`${name} true`);
  });

  test('edge shapes of login: base64, form-encoded, only multiValueHeaders, odd header case → 200; null body → 400', async () => {
    const statuses = Object.fromEntries(
      await Promise.all(
        ['edge-login-base64', 'edge-login-form', 'edge-login-multi-value-only', 'edge-login-odd-case', 'edge-login-null-body'].map(
          async (name) => [name, await proxy('login')(read(name))] as const,
        ),
      ),
    );
    expect(Object.fromEntries(Object.entries(statuses).map(([k, r]) => [k, r.statusCode]))).toEqual({
      'edge-login-base64': 200,
      'edge-login-form': 200,
      'edge-login-multi-value-only': 200,
      'edge-login-odd-case': 200,
      'edge-login-null-body': 400,
    });
    expect(JSON.parse(statuses['edge-login-null-body']!.body)).toEqual({ error: 'invalid_request', error_description: 'username must be a non-empty string' });
    expect(read<APIGatewayProxyEvent>('edge-login-base64').isBase64Encoded).toBe(true);
  });

  test('logout with the Authorization header only in multiValueHeaders ends the session (204)', async () => {
    const tokens = await login(h, DEMO.bob.username, DEMO.bob.password);
    const res = await proxy('logout')(withToken(read<APIGatewayProxyEvent>('edge-logout-multi-value-only'), tokens.access_token));
    expect(res.statusCode).toBe(204);
    const session = await h.sessions.getSession(jwtPayload(tokens.access_token).sid as string);
    expect(session?.revokedAt).toBeDefined();
  });

  test('authorizer cases: Allow, Unauthorized for garbage, Basic and a non-ARN methodArn, Allow for another API', async () => {
    const { access_token } = await login(h, DEMO.alice.username, DEMO.alice.password);
    const allow = await authorize(withToken(read<APIGatewayTokenAuthorizerEvent>('authorizer-token'), access_token));
    expect([allow.principalId, allow.policyDocument.Statement[0]?.Effect]).toEqual(['alice', 'Allow']);
    for (const name of ['authorizer-garbage', 'authorizer-basic', 'authorizer-not-an-arn']) {
      await expect(authorize(withToken(read<APIGatewayTokenAuthorizerEvent>(name), access_token))).rejects.toThrow(/^Unauthorized$/);
    }
    const other = await authorize(withToken(read<APIGatewayTokenAuthorizerEvent>('authorizer-other-api'), access_token));
    const resources = (other.policyDocument.Statement[0] as { Resource: string[] }).Resource;
    expect(resources.every((r) => r.startsWith('arn:aws:execute-api:eu-west-1:210987654321:zyxw987654/beta/'))).toBe(true);
    expect(resources).toContain('arn:aws:execute-api:eu-west-1:210987654321:zyxw987654/beta/GET/orders');
    // The method ARN helper builds what API Gateway sends.
    expect(methodArn(SAMPLE_API, 'get', '/orders/42')).toBe('arn:aws:execute-api:us-east-1:123456789012:abcdef1234/prod/GET/orders/42');
  });
});
