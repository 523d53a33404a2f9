/**
 * tokengate's CDK entry point: the `Tokengate` construct a team adds to its own app, its settings, and the route
 * declaration (`defineApp`) the construct, `npm start` and the OpenAPI document all read.
 *
 * ```ts
 * const tokengate = new Tokengate(this, 'Tokengate', { routes: app.routes, integrations: { orders, inventory } });
 * orders.addEnvironment('API_URL', tokengate.apiBaseUrl);
 * ```
 */
export { Tokengate, acknowledge, type ProtectedMethod, type TokengateIntegration, type TokengateProps } from './tokengate.js';
export {
  CONTEXT_PREFIX,
  TokengateConfigError,
  resolveSettings,
  validateSettings,
  type TokengateSettings,
  type TokengateSettingsInput,
} from './constructs/settings.js';
export type { ApiFunctionName } from './constructs/function-env.js';
export type { SigningKeys } from './constructs/signing-keys.js';
export type { TokengateFunction } from './constructs/tokengate-function.js';
export type { AuthorizerRoute } from './bundling.js';
export {
  AUTH_ROUTES,
  HTTP_METHODS,
  OPENAPI_ROUTE,
  RouteDeclarationError,
  allRoutes,
  defineApp,
  type AppDeclaration,
  type HttpMethod,
  type JsonSchema,
  type Route,
  type RouteResponse,
  type ServiceDeclaration,
  type TokengateFunctionName,
} from './routes.js';
