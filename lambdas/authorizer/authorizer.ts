/**
 * The API Gateway TOKEN authorizer: verify → check the session → IAM policy for every permitted route.
 *
 * Outcomes, as API Gateway turns them into responses:
 * - bad, expired, forged or revoked token → throw Error("Unauthorized") → 401 (the exact message matters);
 * - valid token → a policy: Allow for every route the token's permissions grant (so the cached answer is
 *   right for every route), or an explicit Deny (→ 403) when it grants none; the context carries the caller
 *   (`sub`, `scope`, `sid`, `jti`) and the token's `exp` (epoch seconds, as a string);
 * - a `methodArn` that is not an execute-api method ARN (a hand-made event) → Unauthorized as well;
 * - the session store cannot answer → any other error → 500, never cached, never let through (fail closed).
 */
import type { APIGatewayAuthorizerResult, APIGatewayTokenAuthorizerEvent } from 'aws-lambda';
import type { AccessTokenVerifier } from '../core/access-token.js';
import { InvalidTokenError } from '../core/errors.js';
import { InvalidMethodArnError, type PolicyBuilder } from '../core/policy.js';
import type { RevocationCheck } from '../core/revocation.js';

export interface AuthorizerDeps {
  verifier: AccessTokenVerifier;
  revocation: RevocationCheck;
  policy: PolicyBuilder;
  /** Counters (allow/deny/error); must be cheap, it runs on every request. */
  count?: (metric: 'AuthorizerAllow' | 'AuthorizerDeny' | 'AuthorizerUnauthorized' | 'AuthorizerError') => void;
  onError?: (err: unknown) => void;
}

const unauthorized = (): Error => new Error('Unauthorized');

/** `Bearer <jwt>` (scheme case-insensitive, RFC 7235) → the JWT. */
export function tokenFromAuthorization(value: unknown): string | undefined {
  if (typeof value !== 'string' || value.length < 8 || value.charCodeAt(6) !== 32 /* ' ' */) return undefined;
  // The common spelling without allocating; any other case of the scheme through the slow path.
  if (!value.startsWith('Bearer') && value.slice(0, 6).toLowerCase() !== 'bearer') return undefined;
  // No trimming or space search: the verifier refuses anything but three base64url parts.
  return value.slice(7);
}

export function createAuthorizer(deps: AuthorizerDeps) {
  const count = deps.count ?? (() => {});
  return async (event: APIGatewayTokenAuthorizerEvent): Promise<APIGatewayAuthorizerResult> => {
    try {
      const token = tokenFromAuthorization(event?.authorizationToken);
      if (token === undefined) throw new InvalidTokenError('malformed');
      const claims = deps.verifier.verify(token);
      await deps.revocation.assertLive(claims.sid, claims.sub);
      // The scope string goes to the policy builder as is: it is parsed only when no policy for it is cached.
      // The context is this token's (only the policy document is shared per scope). `exp` travels as API Gateway
      // passes every value anyway, a string: a cached Allow outlives the token by up to the cache TTL, and
      // services refuse a caller whose token has expired (service/caller.ts).
      const result = deps.policy.build(event.methodArn, claims.sub, claims.scope, {
        sub: claims.sub,
        scope: claims.scope,
        sid: claims.sid,
        jti: claims.jti,
        exp: String(claims.exp),
      });
      count(result.policyDocument.Statement[0]?.Effect === 'Allow' ? 'AuthorizerAllow' : 'AuthorizerDeny');
      return result;
    } catch (err) {
      // A methodArn that is no execute-api ARN comes from a hand-made invocation, never from API Gateway: no
      // policy can name its API, so it is refused like a bad token instead of failing as an error (a 500).
      if (err instanceof InvalidTokenError || err instanceof InvalidMethodArnError) {
        count('AuthorizerUnauthorized');
        throw unauthorized();
      }
      count('AuthorizerError');
      deps.onError?.(err);
      throw new Error('authorizer failure', { cause: err });
    }
  };
}
