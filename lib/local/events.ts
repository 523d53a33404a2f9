/**
 * Events as API Gateway (REST, Lambda proxy 1.0 and TOKEN authorizer) sends them, for `npm run event`, the
 * checked-in test events (test/events/) and the tests. Every key of `sam local generate-event apigateway
 * aws-proxy|authorizer` is present, with API Gateway's own rules: the route's resource template and decoded path
 * parameters, `null` for absent query strings, path parameters, stage variables and body, base64 only when asked,
 * `requestContext.path` with the stage, and `requestContext.authorizer` as API Gateway fills it behind the
 * authorizer (the authorizer's context values as strings, `principalId`, `integrationLatency`).
 */
import { randomUUID } from 'node:crypto';
import type { APIGatewayProxyEvent, APIGatewayTokenAuthorizerEvent } from 'aws-lambda';
import { grants, parseScope } from '../../lambdas/core/permissions.js';
import { allRoutes, AUTH_ROUTES, type AppDeclaration, type Route } from '../routes.js';
import { formatRequestTime } from './proxy-event.js';
import { BAD_PATH_ENCODING, Router } from './router.js';

/** Where the event pretends to come from: the API's region, account, id and stage. */
export interface ApiIdentity {
  region: string;
  accountId: string;
  apiId: string;
  stage: string;
}

/** The API the checked-in events and `npm run event` use unless told otherwise (SAM's account id). */
export const SAMPLE_API: ApiIdentity = { region: 'us-east-1', accountId: '123456789012', apiId: 'abcdef1234', stage: 'prod' };

/** `arn:aws:execute-api:<region>:<account>:<api>/<stage>/<METHOD><path>`: what API Gateway passes the authorizer. */
export const methodArn = (api: ApiIdentity, method: string, path: string): string =>
  `arn:aws:execute-api:${api.region}:${api.accountId}:${api.apiId}/${api.stage}/${method.toUpperCase()}${path.startsWith('/') ? path : `/${path}`}`;

/** A TOKEN authorizer event. `authorization` is the whole header value (`Bearer <jwt>`). */
export const authorizerEvent = (authorization: string, arn: string): APIGatewayTokenAuthorizerEvent => ({
  type: 'TOKEN',
  authorizationToken: authorization,
  methodArn: arn,
});

/** `Bearer <token>`, unless the value already names a scheme (`Basic …`, `Bearer …`). */
export const authorizationValue = (token: string): string => (/^\S+ /.test(token) ? token : `Bearer ${token}`);

/** The route of a concrete path (`/orders/42` → `/orders/{id}`, `{id: '42'}`), or an error naming the routes. */
export function matchRoute(
  routes: readonly Route[],
  method: string,
  path: string,
): { route: Route; resourceId: string; pathParameters: Record<string, string> | null } {
  const found = new Router(routes).match(method.toUpperCase(), path);
  if (found === BAD_PATH_ENCODING) throw new Error(`${method} ${path}: a path parameter is not valid percent-encoding`);
  if (found === null) {
    const list = routes.map((r) => `${r.method} ${r.path}`).join(', ');
    throw new Error(`no route ${method.toUpperCase()} ${path} in the route declaration (routes: ${list})`);
  }
  return { route: found.compiled.route, resourceId: found.compiled.resourceId, pathParameters: found.pathParameters };
}

export interface ProxyEventInput {
  method: string;
  /** The concrete request path, without the stage (`/orders/42`). */
  path: string;
  /** The route table the path is matched against (tokengate's routes + the app's). */
  routes: readonly Route[];
  /** Query string without `?` (`a=1&b=2`); absent: no query. */
  query?: string;
  /** Extra headers (a repeated name in `multiValueHeaders` only through `multiValueHeaders`). */
  headers?: Record<string, string>;
  /** The body as the client sent it (text). */
  body?: string | null;
  /** Content-Type of the body. @default application/json when there is a body */
  contentType?: string;
  /** Hand the body to the function base64-encoded, with `isBase64Encoded: true` (a binary media type). */
  base64?: boolean;
  /** The Authorization header value (`Bearer …`). */
  authorization?: string;
  /** `requestContext.authorizer` as API Gateway fills it; null for a public route or no caller. */
  authorizer?: Record<string, string | number> | null;
  api?: ApiIdentity;
  /** @default a fresh UUID */
  requestId?: string;
  /** ms since the epoch. @default now */
  now?: number;
  /** The client's address. @default 203.0.113.10 (TEST-NET-3) */
  sourceIp?: string;
  userAgent?: string;
  /** Only `multiValueHeaders` (`headers` empty): what some hand-made and third-party events carry. */
  multiValueOnly?: boolean;
}

/** A Lambda proxy (REST, payload 1.0) event with every key of SAM's `apigateway aws-proxy` event. */
export function proxyEvent(input: ProxyEventInput): APIGatewayProxyEvent {
  const api = input.api ?? SAMPLE_API;
  const method = input.method.toUpperCase();
  const { route, resourceId, pathParameters } = matchRoute(input.routes, method, input.path);
  const now = input.now ?? Date.now();
  const requestId = input.requestId ?? randomUUID();
  const sourceIp = input.sourceIp ?? '203.0.113.10';
  const userAgent = input.userAgent ?? 'curl/8.5.0';
  const host = `${api.apiId}.execute-api.${api.region}.amazonaws.com`;
  const hasBody = input.body !== undefined && input.body !== null;

  const single: Record<string, string> = {};
  const multi: Record<string, string[]> = {};
  const add = (name: string, value: string) => {
    single[name] = value;
    (multi[name] ??= []).push(value);
  };
  add('Accept', '*/*');
  if (hasBody) add('Content-Type', input.contentType ?? 'application/json');
  add('Host', host);
  add('User-Agent', userAgent);
  add('X-Forwarded-For', sourceIp);
  add('X-Forwarded-Port', '443');
  add('X-Forwarded-Proto', 'https');
  if (input.authorization !== undefined) add('Authorization', input.authorization);
  for (const [name, value] of Object.entries(input.headers ?? {})) {
    // A header given again replaces the default of the same name (in any case).
    for (const k of Object.keys(single)) {
      if (k.toLowerCase() === name.toLowerCase()) {
        delete single[k];
        delete multi[k];
      }
    }
    add(name, value);
  }

  let queryStringParameters: Record<string, string> | null = null;
  let multiValueQueryStringParameters: Record<string, string[]> | null = null;
  if (input.query !== undefined && input.query !== '') {
    queryStringParameters = {};
    multiValueQueryStringParameters = {};
    for (const [k, v] of new URLSearchParams(input.query)) {
      queryStringParameters[k] = v;
      (multiValueQueryStringParameters[k] ??= []).push(v);
    }
  }

  let body: string | null = hasBody ? (input.body as string) : null;
  if (body !== null && input.base64) body = Buffer.from(body, 'utf8').toString('base64');

  return {
    resource: route.path,
    path: input.path,
    httpMethod: method,
    headers: input.multiValueOnly ? {} : single,
    multiValueHeaders: multi,
    queryStringParameters,
    multiValueQueryStringParameters,
    pathParameters,
    stageVariables: null,
    requestContext: {
      accountId: api.accountId,
      apiId: api.apiId,
      domainName: host,
      domainPrefix: api.apiId,
      extendedRequestId: requestId,
      httpMethod: method,
      identity: {
        accessKey: null,
        accountId: null,
        caller: null,
        cognitoAuthenticationProvider: null,
        cognitoAuthenticationType: null,
        cognitoIdentityId: null,
        cognitoIdentityPoolId: null,
        principalOrgId: null,
        sourceIp,
        user: null,
        userAgent,
        userArn: null,
        apiKey: null,
        apiKeyId: null,
        clientCert: null,
      },
      path: `/${api.stage}${input.path}`,
      protocol: 'HTTP/1.1',
      requestId,
      requestTime: formatRequestTime(now),
      requestTimeEpoch: now,
      resourceId,
      resourcePath: route.path,
      stage: api.stage,
      // The aws-lambda type says an object; API Gateway sends null for a method without an authorizer.
      authorizer: (input.authorizer ?? null) as unknown as APIGatewayProxyEvent['requestContext']['authorizer'],
    },
    body,
    isBase64Encoded: body !== null && input.base64 === true,
  };
}

/**
 * `requestContext.authorizer` from an authorizer's answer, as API Gateway builds it: the context values turned
 * into strings, `principalId`, and the authorizer's latency in ms (a number).
 */
export function gatewayAuthorizerContext(
  principalId: string,
  context: Record<string, string | number | boolean> | undefined,
  integrationLatency = 12,
): Record<string, string | number> {
  const out: Record<string, string | number> = { principalId };
  for (const [k, v] of Object.entries(context ?? {})) out[k] = String(v);
  out.integrationLatency = integrationLatency;
  return out;
}

// ---------------------------------------------------------------------------------------------------------------
// The checked-in events (test/events/): one per route, one per authorizer case, and the edge shapes the tests
// invoke against the real handlers. Deterministic: `npm run event -- fixtures` rewrites them, a test compares.

/** Fixed request id and time of the checked-in events. */
const FIXED = { requestId: 'c6af9ac6-7b61-11e6-9a41-93e8deadbeef', now: 1795694400000 } as const;
/** Stand-ins for tokens in checked-in events; tests put real ones in. */
export const TOKEN_PLACEHOLDER = 'REPLACED_BY_TEST';
const REDACTED_BEARER = 'Bearer eyJ.redacted.sig';
/** A caller context far in the future (2100-01-01): services accept it without a real token. */
const FIXTURE_CALLERS = [
  { sub: 'alice', scope: 'orders:read orders:write inventory:read inventory:reserve' },
  { sub: 'admin', scope: 'orders:* inventory:*' },
] as const;
const FIXTURE_SESSION = { sid: 'c2Vzc2lvbi0x', jti: '6f1c3f8e-0000-4000-8000-000000000001', exp: '4102444800' } as const;
/** Path parameter values of the checked-in events, by parameter name. */
const FIXTURE_PARAMS: Record<string, string> = { id: '9d3c7d0e-1111-4222-8333-444455556666', sku: 'tea' };
/** Bodies of the checked-in events by `METHOD path`; other routes with a request body get one from its schema. */
const FIXTURE_BODIES: Record<string, unknown> = {
  'POST /auth/login': { username: 'alice', password: 'alice-password-1' },
  'POST /auth/refresh': { refresh_token: TOKEN_PLACEHOLDER },
  'POST /auth/logout': {},
  'POST /orders': { item: 'espresso', quantity: 2 },
  'POST /inventory/{sku}/reservations': { quantity: 1 },
};


/** The file name (without `.json`) of a route's checked-in event: `login`, `orders-list`, `orders-get`, … */
export function fixtureName(route: Route): string {
  if (AUTH_ROUTES.some((r) => r.method === route.method && r.path === route.path)) return route.handler;
  const segments = route.path.split('/').filter(Boolean);
  const literal = segments.filter((s) => !s.startsWith('{'));
  const last = segments[segments.length - 1] ?? '';
  const item = last.startsWith('{');
  // POST /orders/{id}/fulfil: an action on an item, named by the action.
  if (!item && segments.length >= 2 && segments[segments.length - 2]!.startsWith('{') && route.method === 'POST') return literal.join('-');
  const verbs: Record<string, [string, string]> = { GET: ['list', 'get'], POST: ['create', 'post'], PUT: ['put', 'put'], PATCH: ['patch', 'patch'], DELETE: ['delete', 'delete'] };
  return `${literal.join('-')}-${verbs[route.method]![item ? 1 : 0]}`;
}

/** A minimal JSON value satisfying a (simple) JSON Schema: required/listed properties, minimums, first enum. */
export function exampleFor(schema: Record<string, unknown> | undefined): unknown {
  if (!schema) return {};
  if (Array.isArray(schema.enum)) return schema.enum[0];
  switch (schema.type) {
    case 'object': {
      const props = (schema.properties ?? {}) as Record<string, Record<string, unknown>>;
      return Object.fromEntries(Object.entries(props).map(([k, s]) => [k, exampleFor(s)]));
    }
    case 'integer':
    case 'number':
      return typeof schema.minimum === 'number' ? schema.minimum : 1;
    case 'boolean':
      return true;
    case 'array':
      return [];
    default:
      return 'example';
  }
}

const concretePath = (template: string): string =>
  template.replace(/\{([^}]+)\}/g, (_, name: string) => encodeURIComponent(FIXTURE_PARAMS[name] ?? 'example'));

/** The checked-in event of one route. */
export function routeFixture(route: Route, routes: readonly Route[]): APIGatewayProxyEvent {
  const key = `${route.method} ${route.path}`;
  const body = key in FIXTURE_BODIES ? FIXTURE_BODIES[key] : route.requestBody ? exampleFor(route.requestBody) : undefined;
  const caller = route.permission === null ? undefined : FIXTURE_CALLERS.find((c) => grants(parseScope(c.scope), route.permission!)) ?? FIXTURE_CALLERS[1];
  const authorization = route.path === '/auth/logout' ? `Bearer ${TOKEN_PLACEHOLDER}` : caller ? REDACTED_BEARER : undefined;
  return proxyEvent({
    method: route.method,
    path: concretePath(route.path),
    routes,
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    ...(authorization ? { authorization } : {}),
    authorizer: caller ? gatewayAuthorizerContext(caller.sub, { sub: caller.sub, scope: caller.scope, ...FIXTURE_SESSION }) : null,
    ...FIXED,
  });
}

/** Authorizer cases: the token is a placeholder where the test needs a real one. */
export function authorizerFixtures(): Record<string, APIGatewayTokenAuthorizerEvent> {
  const arn = (method: string, path: string, api: ApiIdentity = SAMPLE_API) => methodArn(api, method, path);
  const placeholder = `Bearer ${TOKEN_PLACEHOLDER}`;
  return {
    /** A valid token (the test signs one) for GET /orders: Allow. */
    'authorizer-token': authorizerEvent(placeholder, arn('GET', '/orders')),
    /** Not a JWT: Unauthorized. */
    'authorizer-garbage': authorizerEvent('Bearer not.a.token', arn('GET', '/orders')),
    /** Another scheme than Bearer: Unauthorized. */
    'authorizer-basic': authorizerEvent('Basic YWxpY2U6YWxpY2UtcGFzc3dvcmQtMQ==', arn('GET', '/orders')),
    /** A valid token for a method of another stage, region and account: Allow, for that API's routes. */
    'authorizer-other-api': authorizerEvent(placeholder, arn('DELETE', '/orders/42', { region: 'eu-west-1', accountId: '210987654321', apiId: 'zyxw987654', stage: 'beta' })),
    /** A methodArn that is not an ARN (only a hand-made event has one): Unauthorized, never an error. */
    'authorizer-not-an-arn': authorizerEvent(placeholder, 'GET /orders'),
  };
}

/** Edge shapes of proxy events, each answered by the real handlers with a clear 4xx or the right result. */
export function edgeFixtures(routes: readonly Route[]): Record<string, APIGatewayProxyEvent> {
  const login = { method: 'POST', path: '/auth/login', routes, ...FIXED };
  const creds = JSON.stringify(FIXTURE_BODIES['POST /auth/login']);
  const oddCase = proxyEvent({ ...login, body: creds });
  // Header names in the case some clients send them; the handlers look names up case-insensitively.
  for (const h of [oddCase.headers, oddCase.multiValueHeaders] as Record<string, unknown>[]) {
    h['cOnTeNt-TyPe'] = h['Content-Type'];
    delete h['Content-Type'];
  }
  return {
    'edge-login-base64': proxyEvent({ ...login, body: creds, base64: true }),
    'edge-login-form': proxyEvent({ ...login, body: 'username=alice&password=alice-password-1', contentType: 'application/x-www-form-urlencoded' }),
    'edge-login-multi-value-only': proxyEvent({ ...login, body: creds, multiValueOnly: true }),
    'edge-login-odd-case': oddCase,
    'edge-login-null-body': proxyEvent({ ...login, body: null }),
    'edge-logout-multi-value-only': proxyEvent({
      method: 'POST', path: '/auth/logout', routes, body: '{}', authorization: `Bearer ${TOKEN_PLACEHOLDER}`, multiValueOnly: true, ...FIXED,
    }),
  };
}

/** Every checked-in event by file name (without `.json`), for an app declaration. */
export function fixtureEvents(app: Pick<AppDeclaration, 'routes'>): Record<string, APIGatewayProxyEvent | APIGatewayTokenAuthorizerEvent> {
  const routes = allRoutes(app);
  const out: Record<string, APIGatewayProxyEvent | APIGatewayTokenAuthorizerEvent> = {};
  for (const route of routes) {
    const name = fixtureName(route);
    if (name in out) throw new Error(`two routes would share the event file ${name}.json (${route.method} ${route.path})`);
    out[name] = routeFixture(route, routes);
  }
  Object.assign(out, authorizerFixtures(), edgeFixtures(routes));
  return out;
}

/** How the checked-in events are written: two-space JSON and a final newline. */
export const serializeEvent = (event: unknown): string => `${JSON.stringify(event, null, 2)}\n`;
