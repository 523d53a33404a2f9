/**
 * A fixed route table for tests of the gateway, the authorizer and the policy: tokengate's own routes and the
 * four /orders routes of the sample (the tests predate the sample's inventory service and need no more).
 */
import { AUTH_ROUTES, type Route, type TokengateFunctionName } from '../../lib/routes.js';

export type FunctionName = TokengateFunctionName | 'orders';

export const routes: readonly Route<FunctionName>[] = [
  ...AUTH_ROUTES,
  { method: 'GET', path: '/orders', permission: 'orders:read', handler: 'orders' },
  { method: 'POST', path: '/orders', permission: 'orders:write', handler: 'orders' },
  { method: 'GET', path: '/orders/{id}', permission: 'orders:read', handler: 'orders' },
  { method: 'DELETE', path: '/orders/{id}', permission: 'orders:admin', handler: 'orders' },
];
