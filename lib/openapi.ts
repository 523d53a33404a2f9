/**
 * The OpenAPI 3.1 description of an API behind tokengate, generated from the route declaration (the one table
 * the construct, the local gateway and the authorizer read): tokengate's own endpoints with their request and
 * response bodies, then every route of the team's app with its permission, path parameters and the bodies the
 * declaration names. Served as `GET /openapi.json` and written by `npm run openapi` / `tokengate openapi`.
 *
 * Plain data in, plain data out: no CDK or Lambda import.
 */
import { AUTH_ROUTES, type AppDeclaration, type HttpMethod, type JsonSchema, type Route, type TokengateFunctionName } from './routes.js';

export interface OpenApiOptions {
  /** `info.title`. @default 'API' */
  readonly title?: string;
  /** `info.version` (the API's version, not OpenAPI's). @default '1.0.0' */
  readonly version?: string;
  /** `info.description`. */
  readonly description?: string;
  /** Where the API is served (`servers[0].url`), e.g. the stage URL or `http://127.0.0.1:3000`. @default none */
  readonly serverUrl?: string;
}

type JsonObject = { readonly [key: string]: unknown };

export interface OpenApiDocument {
  readonly openapi: '3.1.0';
  readonly info: { readonly title: string; readonly version: string; readonly description?: string };
  readonly servers?: readonly { readonly url: string }[];
  readonly tags: readonly { readonly name: string; readonly description?: string }[];
  readonly paths: { readonly [path: string]: { readonly [method: string]: JsonObject } };
  readonly components: {
    readonly securitySchemes: { readonly [name: string]: JsonObject };
    readonly schemas: { readonly [name: string]: JsonSchema };
    readonly headers: { readonly [name: string]: JsonObject };
  };
}

/** The security scheme's name in the document: `security: [{ tokengate: ['orders:read'] }]`. */
export const SECURITY_SCHEME = 'tokengate';
/** Extension naming the permission a route needs (null for a public route). */
export const PERMISSION_EXTENSION = 'x-tokengate-permission';
/** tokengate's own operations carry this tag. */
export const AUTH_TAG = 'auth';

const ref = (name: string): JsonObject => ({ $ref: `#/components/schemas/${name}` });
const jsonContent = (schema: JsonObject): JsonObject => ({ 'application/json': { schema } });

const SCHEMAS: Readonly<Record<string, JsonSchema>> = {
  GatewayMessage: {
    type: 'object',
    description: "API Gateway's own answer: 401 for a missing or bad token, 403 for a token without the route's permission, 413 over the payload quota",
    properties: { message: { type: ['string', 'null'] } },
    required: ['message'],
  },
  OAuthError: {
    type: 'object',
    description: 'An error of the auth endpoints (RFC 6749 §5.2 style)',
    properties: {
      error: { type: 'string', enum: ['invalid_request', 'invalid_grant', 'invalid_token', 'too_many_attempts', 'temporarily_unavailable', 'server_error'] },
      error_description: { type: 'string' },
      retry_after: { type: 'integer', minimum: 0, description: 'Seconds until another attempt may succeed (429 only)' },
    },
    required: ['error'],
  },
  LoginRequest: {
    type: 'object',
    properties: { username: { type: 'string', minLength: 1 }, password: { type: 'string', minLength: 1 } },
    required: ['username', 'password'],
  },
  RefreshRequest: {
    type: 'object',
    description: 'The refresh token in the body, or (cookie mode, with `X-Token-Delivery: cookie`) in the refresh cookie',
    properties: { refresh_token: { type: 'string' } },
  },
  LogoutRequest: {
    type: 'object',
    description: 'A refresh token in the body or the cookie and/or an access token in `Authorization`; `all` ends every session of the user',
    properties: { refresh_token: { type: 'string' }, all: { type: 'boolean' } },
  },
  TokenResponse: {
    type: 'object',
    description: 'RFC 6749 §5.1; in cookie mode the refresh token is in the `Set-Cookie` header instead of the body',
    properties: {
      access_token: { type: 'string', description: 'ES256 JWT (RFC 9068 `at+jwt`)' },
      token_type: { type: 'string', const: 'Bearer' },
      expires_in: { type: 'integer', description: "The access token's lifetime in seconds" },
      refresh_token: { type: 'string', description: 'Opaque; rotates on every use' },
    },
    required: ['access_token', 'token_type', 'expires_in'],
  },
  Jwks: {
    type: 'object',
    properties: {
      keys: {
        type: 'array',
        items: {
          type: 'object',
          properties: {
            kty: { const: 'EC' },
            crv: { const: 'P-256' },
            x: { type: 'string' },
            y: { type: 'string' },
            kid: { type: 'string' },
            alg: { const: 'ES256' },
            use: { const: 'sig' },
          },
          required: ['kty', 'crv', 'x', 'y', 'kid', 'alg', 'use'],
        },
      },
    },
    required: ['keys'],
  },
};

const HEADERS: Readonly<Record<string, JsonObject>> = {
  RetryAfter: { description: 'Seconds to wait before trying again', schema: { type: 'integer', minimum: 0 } },
  CacheControl: { description: 'Token responses are never cached', schema: { type: 'string', const: 'no-store' } },
  SetRefreshCookie: {
    description: 'Cookie mode only: the refresh token, HttpOnly, Secure, SameSite=Strict (`__Host-tg_refresh` by default)',
    schema: { type: 'string' },
  },
  WwwAuthenticate: { description: 'RFC 6750 challenge', schema: { type: 'string' } },
};

const header = (name: string): JsonObject => ({ $ref: `#/components/headers/${name}` });
const oauthError = (description: string, extra: JsonObject = {}): JsonObject => ({ description, content: jsonContent(ref('OAuthError')), ...extra });
const gatewayMessage = (description: string): JsonObject => ({ description, content: jsonContent(ref('GatewayMessage')) });

const TOKENS: JsonObject = {
  description: 'New tokens',
  headers: { 'Cache-Control': header('CacheControl'), 'Set-Cookie': header('SetRefreshCookie') },
  content: jsonContent(ref('TokenResponse')),
};
const TOO_LARGE: JsonObject = oauthError('The body is larger than 8 KiB');
const UNAVAILABLE: JsonObject = oauthError('The store is unreachable: nothing was decided, try again', { headers: { 'Retry-After': header('RetryAfter') } });
const DELIVERY_PARAMETER: JsonObject = {
  name: 'X-Token-Delivery',
  in: 'header',
  required: false,
  description: '`cookie`: deliver (and read) the refresh token as an HttpOnly cookie instead of the body (browsers); also the CSRF guard of cookie-based requests',
  schema: { type: 'string', enum: ['cookie'] },
};
/** The same schema in both encodings the auth endpoints accept. */
const formOrJson = (schema: string, required: boolean): JsonObject => ({
  required,
  content: { 'application/json': { schema: ref(schema) }, 'application/x-www-form-urlencoded': { schema: ref(schema) } },
});

/** What each of tokengate's own endpoints takes and answers; keyed by function so a new one cannot go undocumented. */
const AUTH_OPERATIONS: Readonly<Record<TokengateFunctionName, JsonObject>> = {
  login: {
    description: 'Checks the username and password and starts a session. Failed attempts are throttled per (username, client address), per username and per address; a throttled request answers 429 with `Retry-After`.',
    parameters: [DELIVERY_PARAMETER],
    requestBody: formOrJson('LoginRequest', true),
    responses: {
      '200': TOKENS,
      '400': oauthError('Malformed body or unsupported Content-Type'),
      '401': oauthError('Wrong username or password, or a disabled user (`invalid_grant`)'),
      '413': TOO_LARGE,
      '429': oauthError('Too many failed attempts (`too_many_attempts`)', { headers: { 'Retry-After': header('RetryAfter') } }),
      '503': UNAVAILABLE,
    },
  },
  refresh: {
    description: 'Exchanges a refresh token for a new access token and a new refresh token (rotation). Presenting a spent refresh token again revokes the whole session.',
    parameters: [DELIVERY_PARAMETER],
    requestBody: formOrJson('RefreshRequest', false),
    responses: {
      '200': TOKENS,
      '400': oauthError('Malformed body, or the refresh cookie sent twice'),
      '401': oauthError('Spent, unknown, expired or revoked refresh token (`invalid_grant`)'),
      '403': oauthError('The refresh cookie without `X-Token-Delivery: cookie` (CSRF guard)'),
      '413': TOO_LARGE,
      '503': UNAVAILABLE,
    },
  },
  logout: {
    description: 'Ends the session of the presented refresh token and/or access token; `{"all": true}` ends every session of the user. Public at the gateway: the function checks the bearer token itself, so a client whose access token has just expired can still log out with its refresh token.',
    parameters: [DELIVERY_PARAMETER],
    security: [{ [SECURITY_SCHEME]: [] }, {}],
    requestBody: formOrJson('LogoutRequest', false),
    responses: {
      '204': { description: 'Logged out (also when the session had already ended); cookie mode clears the cookie' },
      '400': oauthError('Malformed body, or a refresh token of another user than the access token'),
      '401': oauthError('No credential, an `Authorization` header that is not a valid access token (`invalid_token`), or `all` without a live credential (`invalid_grant`)', {
        headers: { 'WWW-Authenticate': header('WwwAuthenticate') },
      }),
      '413': TOO_LARGE,
      '503': UNAVAILABLE,
    },
  },
  jwks: {
    description: 'The public keys that verify access tokens (for services that verify tokens themselves).',
    responses: { '200': { description: 'The JSON Web Key Set', content: jsonContent(ref('Jwks')) } },
  },
};

const OPENAPI_OPERATION: JsonObject = {
  tags: [AUTH_TAG],
  summary: 'This document',
  operationId: 'tokengate_openapi',
  responses: { '200': { description: 'The OpenAPI 3.1 description of every route', content: jsonContent({ type: 'object' }) } },
};

const pathParameters = (path: string): JsonObject[] =>
  [...path.matchAll(/\{([A-Za-z0-9_]+)\}/g)].map((m) => ({ name: m[1], in: 'path', required: true, schema: { type: 'string' } }));

/** A stable, unique operationId: `orders_get_orders_id` for GET /orders/{id} served by orders. */
const operationId = (r: Pick<Route, 'handler' | 'method' | 'path'>): string =>
  `${r.handler}_${r.method.toLowerCase()}_${r.path.replace(/[{}]/g, '').replace(/[^A-Za-z0-9]+/g, '_').replace(/^_|_$/g, '') || 'root'}`;

function teamOperation(r: Route): JsonObject {
  const responses: Record<string, JsonObject> = {};
  for (const [status, res] of Object.entries(r.responses ?? { '200': { description: 'Success' } })) {
    responses[status] = res.schema ? { description: res.description, content: jsonContent(res.schema) } : { description: res.description };
  }
  const permission = r.permission;
  if (permission !== null) {
    responses['401'] ??= gatewayMessage('No token, or a token that is malformed, expired, revoked or not ours: `{"message":"Unauthorized"}`');
    responses['403'] ??= gatewayMessage(`The token is valid but does not grant \`${permission}\``);
  }
  if (r.requestBody) responses['413'] ??= gatewayMessage('The body is larger than the API accepts');
  const parameters = pathParameters(r.path);
  const access = permission === null ? 'Public: no token needed.' : `Requires a bearer access token granting \`${permission}\`.`;
  return {
    tags: [r.handler],
    ...(r.summary ? { summary: r.summary } : {}),
    description: access,
    operationId: operationId(r),
    ...(parameters.length > 0 ? { parameters } : {}),
    ...(r.requestBody ? { requestBody: { required: true, content: jsonContent(r.requestBody) } } : {}),
    security: permission === null ? [] : [{ [SECURITY_SCHEME]: [permission] }],
    [PERMISSION_EXTENSION]: permission,
    responses,
  };
}

function authOperation(r: Route<TokengateFunctionName>): JsonObject {
  const op = AUTH_OPERATIONS[r.handler];
  return {
    tags: [AUTH_TAG],
    ...(r.summary ? { summary: r.summary } : {}),
    operationId: `tokengate_${r.handler}`,
    security: [],
    [PERMISSION_EXTENSION]: null,
    ...op,
  };
}

/**
 * The OpenAPI 3.1 document of tokengate's endpoints and the app's routes. Takes the declaration as
 * `defineApp()` returned it (checked there: unique `METHOD path`, no route under tokengate's own paths); the
 * services' descriptions, when given, describe their tags.
 */
export function buildOpenApi(
  app: Pick<AppDeclaration, 'routes'> & { readonly services?: AppDeclaration['services'] },
  options: OpenApiOptions = {},
): OpenApiDocument {
  const paths: Record<string, Record<string, JsonObject>> = {};
  const add = (method: HttpMethod | 'GET', path: string, op: JsonObject): void => {
    const item = (paths[path] ??= {});
    const key = method.toLowerCase();
    if (item[key]) throw new Error(`${method} ${path} is declared twice`);
    item[key] = op;
  };
  for (const r of AUTH_ROUTES) add(r.method, r.path, authOperation(r));
  add('GET', '/openapi.json', OPENAPI_OPERATION);
  // The declaration's routes; tokengate's own ones are documented above (a table from allRoutes() may repeat them).
  for (const r of app.routes) if (!(AUTH_ROUTES as readonly Route[]).includes(r)) add(r.method, r.path, teamOperation(r));

  const services = [...new Set(app.routes.filter((r) => !(AUTH_ROUTES as readonly Route[]).includes(r)).map((r) => r.handler))];
  const tags = [
    { name: AUTH_TAG, description: 'tokengate: sign in, refresh, sign out, public keys' },
    ...services.map((name) => {
      const description = app.services?.[name]?.description;
      return description ? { name, description } : { name };
    }),
  ];
  return {
    openapi: '3.1.0',
    info: {
      title: options.title ?? 'API',
      version: options.version ?? '1.0.0',
      ...(options.description ? { description: options.description } : {}),
    },
    ...(options.serverUrl ? { servers: [{ url: options.serverUrl }] } : {}),
    tags,
    paths,
    components: {
      securitySchemes: {
        [SECURITY_SCHEME]: {
          type: 'http',
          scheme: 'bearer',
          bearerFormat: 'JWT',
          description:
            'An access token from POST /auth/login or /auth/refresh (ES256, RFC 9068 `at+jwt`). Each operation lists the permission the token must grant (its `scope` claim); `*` grants every action of a resource (`orders:*`).',
        },
      },
      schemas: SCHEMAS,
      headers: HEADERS,
    },
  };
}
