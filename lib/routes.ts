/**
 * The route declaration: written once, by the team, and read by the CDK construct, the local gateway, the
 * authorizer's policy builder and the OpenAPI generator. A route names its method, its path, the permission a
 * caller's token must grant (or `null` for a public route) and the service that serves it; a service names the
 * module of its Lambda handler, so `npm start` can run it and the team's CDK app can bundle it.
 *
 * Plain data on purpose: no CDK or Lambda import, because the authorizer bundle includes this file.
 */

export type HttpMethod = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
export const HTTP_METHODS: readonly HttpMethod[] = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE'];

/** A JSON Schema (2020-12, as OpenAPI 3.1 speaks it) for documentation; kept as plain data. */
export type JsonSchema = { readonly [key: string]: unknown };

export interface RouteResponse {
  readonly description: string;
  readonly schema?: JsonSchema;
}

export interface Route<H extends string = string> {
  readonly method: HttpMethod;
  /** API Gateway resource path; `{name}` marks a path parameter. */
  readonly path: string;
  /**
   * The permission (`resource:action`) a caller's token must grant, or `null` for a public route that
   * API Gateway serves without the authorizer.
   */
  readonly permission: string | null;
  /** The service (a key of the app's `services`) or tokengate function that serves the route. */
  readonly handler: H;
  /** One line for the OpenAPI document. */
  readonly summary?: string;
  /** The JSON request body, for the OpenAPI document. */
  readonly requestBody?: JsonSchema;
  /** Responses by status code, for the OpenAPI document. */
  readonly responses?: Readonly<Record<string, RouteResponse>>;
}

/**
 * A DynamoDB table a service owns. Both key attributes are strings. The CDK side creates the table, grants the
 * service read/write on it and passes its name in the environment variable the table is declared under;
 * `npm start` creates it in the embedded store (named `<service>.<ENV_NAME>`) and does the same.
 */
export interface TableDeclaration {
  /** The partition key attribute (type S). */
  readonly partitionKey: string;
  /** The sort key attribute (type S), if any. */
  readonly sortKey?: string;
}

export interface ServiceDeclaration {
  /** The module of the service's Lambda handler, relative to the file that declares the app. */
  readonly entry: string;
  /** The handler's export name. @default 'handler' */
  readonly exportName?: string;
  /** One line for humans (also the Lambda description). */
  readonly description?: string;
  /**
   * The service's own DynamoDB tables, by the environment variable that carries the table's name to the
   * service, e.g. `{ ORDERS_TABLE: { partitionKey: 'owner', sortKey: 'id' } }`.
   */
  readonly tables?: Readonly<Record<string, TableDeclaration>>;
  /**
   * `npm start` only, never deployed: a module (relative to the declaring file) whose default export
   * `(env: Readonly<Record<string, string>>) => Promise<void>` writes demo data into the service's tables. It
   * runs once, right after the local runner created them in a fresh data dir, with the service's environment
   * (table names, `AWS_ENDPOINT_URL_DYNAMODB` of the embedded store, `AWS_REGION`).
   */
  readonly localSeed?: string;
}

export interface AppDeclaration<H extends string = string> {
  /** Every service by name. */
  readonly services: Readonly<Record<H, ServiceDeclaration>>;
  /** Every route of the team's API. */
  readonly routes: readonly Route<H>[];
}

/** tokengate's own functions behind the API. */
export type TokengateFunctionName = 'login' | 'refresh' | 'logout' | 'jwks';

/** tokengate's own routes: every deployment has them, in front of the team's. */
export const AUTH_ROUTES: readonly Route<TokengateFunctionName>[] = [
  { method: 'POST', path: '/auth/login', permission: null, handler: 'login', summary: 'Sign in: an access token and a rotating refresh token' },
  { method: 'POST', path: '/auth/refresh', permission: null, handler: 'refresh', summary: 'Exchange a refresh token for new tokens (rotation)' },
  // Logout is public at the gateway: the function checks the bearer token itself, so that a client whose
  // access token has just expired can still end its session with the refresh token (cookie mode).
  { method: 'POST', path: '/auth/logout', permission: null, handler: 'logout', summary: 'End this session, or every session of the user' },
  { method: 'GET', path: '/.well-known/jwks.json', permission: null, handler: 'jwks', summary: 'The public signing keys (JWKS)' },
];

/**
 * The API's OpenAPI document: `npm start`'s gateway serves it itself; a deployed API serves it from the JWKS function,
 * which has the document compiled into its bundle (lib/bundling.ts).
 */
export const OPENAPI_ROUTE: Route<'jwks'> = { method: 'GET', path: '/openapi.json', permission: null, handler: 'jwks', summary: 'The OpenAPI 3.1 document of every route' };

/** Paths tokengate serves itself; a team's route may not use them. */
const RESERVED = [/^\/auth(\/|$)/, /^\/\.well-known(\/|$)/, /^\/openapi\.json$/];
const PATH = /^\/(?:[A-Za-z0-9._~-]+|\{[A-Za-z0-9_]+\})(?:\/(?:[A-Za-z0-9._~-]+|\{[A-Za-z0-9_]+\}))*$/;
const PERMISSION = /^[a-z0-9][a-z0-9_.-]{0,63}:(\*|[a-z0-9][a-z0-9_.-]{0,63})$/;
const SERVICE_NAME = /^[a-z][a-zA-Z0-9-]{0,39}$/;
/** tokengate's own function names: a service may not take one. */
const RESERVED_SERVICE_NAMES: readonly string[] = ['login', 'refresh', 'logout', 'jwks', 'authorizer', 'openapi'];
const ENV_NAME = /^[A-Z][A-Z0-9_]{0,63}$/;
const ATTRIBUTE_NAME = /^[A-Za-z0-9_.-]{1,255}$/;

/** A declaration that cannot work: raised at synth, at `npm start` and in tests, never at request time. */
export class RouteDeclarationError extends Error {
  override readonly name = 'RouteDeclarationError';
}

/**
 * Checks an app declaration and returns it unchanged (typed): unique `METHOD path` pairs, well-formed paths
 * and permissions, every route's service declared, every service used, nothing under tokengate's own paths.
 */
export function defineApp<H extends string>(app: AppDeclaration<H>): AppDeclaration<H> {
  const services = Object.keys(app.services) as H[];
  for (const name of services) {
    if (!SERVICE_NAME.test(name)) throw new RouteDeclarationError(`service name "${name}": use letters, digits and dashes, starting with a lowercase letter`);
    if (RESERVED_SERVICE_NAMES.includes(name)) throw new RouteDeclarationError(`service name "${name}" is one of tokengate's own functions`);
    const service = app.services[name];
    if (typeof service.entry !== 'string' || service.entry === '') throw new RouteDeclarationError(`service "${name}" needs an entry (its handler module)`);
    for (const [envName, table] of Object.entries(service.tables ?? {})) {
      if (!ENV_NAME.test(envName)) throw new RouteDeclarationError(`service "${name}": table "${envName}" must be named by an environment variable (A-Z, 0-9, _)`);
      if (!ATTRIBUTE_NAME.test(table.partitionKey ?? '') || (table.sortKey !== undefined && !ATTRIBUTE_NAME.test(table.sortKey))) {
        throw new RouteDeclarationError(`service "${name}": table ${envName} needs a partitionKey (and optionally a sortKey) attribute name`);
      }
    }
    if (service.localSeed !== undefined && (typeof service.localSeed !== 'string' || service.localSeed === '')) {
      throw new RouteDeclarationError(`service "${name}": localSeed must name a module`);
    }
  }
  const seen = new Set<string>();
  const used = new Set<string>();
  for (const r of app.routes) {
    const key = `${r.method} ${r.path}`;
    if (!HTTP_METHODS.includes(r.method)) throw new RouteDeclarationError(`${key}: method must be one of ${HTTP_METHODS.join(', ')}`);
    if (!PATH.test(r.path)) throw new RouteDeclarationError(`${key}: path must start with '/' and have non-empty segments of letters, digits, ._~- or {param}`);
    if (RESERVED.some((re) => re.test(r.path))) throw new RouteDeclarationError(`${key}: /auth, /.well-known and /openapi.json are tokengate's own paths`);
    if (r.permission !== null && !PERMISSION.test(r.permission)) throw new RouteDeclarationError(`${key}: permission must be "resource:action" (lowercase), got "${r.permission}"`);
    if (seen.has(key)) throw new RouteDeclarationError(`${key} is declared twice`);
    if (!Object.hasOwn(app.services, r.handler)) throw new RouteDeclarationError(`${key}: service "${r.handler}" is not declared`);
    seen.add(key);
    used.add(r.handler);
  }
  for (const name of services) if (!used.has(name)) throw new RouteDeclarationError(`service "${name}" serves no route`);
  return app;
}

/** The whole table an API serves: tokengate's own routes, then the team's. */
export const allRoutes = (app: Pick<AppDeclaration, 'routes'>): readonly Route[] => [...AUTH_ROUTES, ...app.routes];

/** Routes that the token authorizer guards. */
export const protectedRoutes = (table: readonly Route[]): Route[] => table.filter((r) => r.permission !== null);
