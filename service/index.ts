/**
 * tokengate/service: the library for a team's own services.
 *
 * - Behind the gateway: `callerFrom(event)` (the caller from the authorizer's context, `exp` checked),
 *   `requirePermission(caller, 'x:y')` (undefined, or a ready 403 naming the permission), `unauthorized()`.
 * - Receiving a token directly: `createTokenVerifier({ jwksUrl, issuer, audience })` (aws-jwt-verify with the
 *   authorizer's RFC 9068 profile; the JWKS fetched once and cached) and the `authenticate()` Node HTTP
 *   middleware (401/403 with `WWW-Authenticate: Bearer …`, RFC 6750).
 * - Propagation: `forwardingFetch(event, { baseUrl })` calls another service as the user.
 * - Lambda proxy helpers: `json`, `empty`, `readBody`, `errorResponse`, `withCors`.
 *
 * No CDK and no AWS SDK in here.
 */
export {
  type Caller,
  type CallerClaims,
  type CallerOptions,
  type InsufficientScopeBody,
  CALLER_LEEWAY_SECONDS,
  callerFrom,
  callerFromClaims,
  forbidden,
  insufficientScopeBody,
  requirePermission,
  unauthorized,
} from './caller.js';
export {
  type AccessTokenClaims,
  type TokenVerifier,
  type TokenVerifierOptions,
  createTokenVerifier,
  InvalidTokenError,
  JwksUnavailableError,
} from './verifier.js';
export { type AuthenticatedRequest, type AuthenticateOptions, type Middleware, type Next, authenticate, bearerTokenOf } from './middleware.js';
export {
  type AuthorizationSource,
  type ForwardingFetch,
  type ForwardingOptions,
  bearerAuthorization,
  forwardAuthorization,
  forwardingFetch,
  ForwardingRefusedError,
} from './forward.js';
export {
  DependencyUnavailableError,
  empty,
  errorResponse,
  header,
  InvalidRequestError,
  json,
  MAX_BODY_BYTES,
  parseOrigins,
  PayloadTooLargeError,
  readBody,
  withCors,
} from './http.js';
