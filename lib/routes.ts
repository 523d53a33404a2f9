/**
 * The one route table. The CDK stack, the local gateway and the authorizer's policy builder all read it,
 * so the permission a route needs is written down exactly once.
 *
 * Plain data on purpose: no CDK or Lambda import, because the authorizer bundle includes this file.
 */

export type HttpMethod = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';

/** The deployed functions. Each name is a folder under `lambdas/` with a `handler.ts`. */
export type FunctionName = 'login' | 'refresh' | 'logout' | 'jwks' | 'orders';

export interface Route {
  readonly method: HttpMethod;
  /** API Gateway resource path; `{name}` marks a path parameter. */
  readonly path: string;
  /**
   * The permission (`resource:action`) a caller's token must grant, or `null` for a public route that
   * API Gateway serves without the authorizer.
   */
  readonly permission: string | null;
  readonly handler: FunctionName;
}

export const routes: readonly Route[] = [
  { method: 'POST', path: '/auth/login', permission: null, handler: 'login' },
  { method: 'POST', path: '/auth/refresh', permission: null, handler: 'refresh' },
  // Logout is public at the gateway: the function checks the bearer token itself, so that a client whose
  // access token has just expired can still end its session with the refresh token (cookie mode).
  { method: 'POST', path: '/auth/logout', permission: null, handler: 'logout' },
  { method: 'GET', path: '/.well-known/jwks.json', permission: null, handler: 'jwks' },
  { method: 'GET', path: '/orders', permission: 'orders:read', handler: 'orders' },
  { method: 'POST', path: '/orders', permission: 'orders:write', handler: 'orders' },
  { method: 'GET', path: '/orders/{id}', permission: 'orders:read', handler: 'orders' },
  { method: 'DELETE', path: '/orders/{id}', permission: 'orders:admin', handler: 'orders' },
];

/** Routes that the token authorizer guards. */
export const protectedRoutes = (table: readonly Route[] = routes): Route[] =>
  table.filter((r) => r.permission !== null);
