/**
 * The TOKEN authorizer step of a protected method, in API Gateway's order:
 * 1. no identity source (Authorization header), or one failing the identity validation expression → 401,
 *    without invoking the function;
 * 2. a cached result for this exact header value (within the TTL) → re-evaluate its policy for this method
 *    ARN, without invoking the function;
 * 3. otherwise invoke the function with `{type:"TOKEN", authorizationToken, methodArn}`:
 *    - it fails with exactly "Unauthorized" → 401; any other failure or malformed output → 500;
 *      neither is cached;
 *    - it answers a valid policy → cache it (Allow or Deny alike), then evaluate it for this method ARN:
 *      explicit Deny → 403, no matching Allow → 403, Allow → the caller's principal and context.
 */
import type { APIGatewayAuthorizerResult, APIGatewayTokenAuthorizerEvent, Context } from 'aws-lambda';
import type { Clock } from '../../lambdas/core/clock.js';
import { AuthorizerCache } from './authorizer-cache.js';
import { isUnauthorizedSignal, parseAuthorizerResult, type AuthorizerDecision } from './authorizer-result.js';
import { GatewayErrors, type GatewayError } from './gateway-responses.js';
import { createLambdaContext, invokeWithTimeout, type LambdaEnvironment } from './lambda-context.js';
import { evaluatePolicy } from './policy-eval.js';

export type TokenAuthorizerHandler = (
  event: APIGatewayTokenAuthorizerEvent,
  context: Context,
) => Promise<APIGatewayAuthorizerResult>;

/** An allowed caller, as the integration will see it in `requestContext.authorizer`. */
export interface AuthorizedCaller {
  readonly kind: 'authorized';
  readonly principalId: string;
  readonly context: Readonly<Record<string, string>>;
  /** ms spent in the authorizer function for this request (0 when served from the cache). */
  readonly integrationLatency: number;
}

export type AuthorizationOutcome = AuthorizedCaller | GatewayError;

/** Reported for authorizer failures that become a 500, so the developer can see why. */
export type AuthorizerFailureReporter = (error: unknown) => void;

export interface TokenAuthorizerOptions {
  readonly handler: TokenAuthorizerHandler;
  readonly cacheTtlSeconds: number;
  readonly identityValidation: RegExp;
  readonly clock: Clock;
  readonly lambdaEnv: LambdaEnvironment;
  readonly timeoutMs: number;
  readonly maxCacheEntries?: number;
  readonly stats: { authorizerInvocations: number; cacheHits: number };
  readonly onFailure?: AuthorizerFailureReporter;
}

interface CachedDecision {
  readonly decision: AuthorizerDecision;
  /** Reused for every cache hit that is allowed: no allocation on the hot path. */
  readonly cachedCaller: AuthorizedCaller;
}

/**
 * API Gateway matches the identity validation expression against the whole token (Java `matches`), so the
 * pattern is anchored here; a global or sticky flag would make `test` stateful, so those are dropped.
 */
export function wholeValueRegex(pattern: RegExp): RegExp {
  return new RegExp(`^(?:${pattern.source})$`, pattern.flags.replace(/[gy]/g, ''));
}

export class TokenAuthorizer {
  private readonly cache: AuthorizerCache<CachedDecision> | undefined;
  private readonly validation: RegExp;

  constructor(private readonly opts: TokenAuthorizerOptions) {
    this.validation = wholeValueRegex(opts.identityValidation);
    this.cache =
      opts.cacheTtlSeconds > 0 ? new AuthorizerCache(opts.cacheTtlSeconds * 1000, opts.maxCacheEntries) : undefined;
  }

  /**
   * Steps 1 and 2: the outcome when it is known without invoking the function (401, or a cache hit),
   * otherwise undefined and the caller goes on to `invoke`.
   */
  precheck(token: string | undefined, methodArn: string, now: number): AuthorizationOutcome | undefined {
    if (token === undefined || token.length === 0 || !this.validation.test(token)) return GatewayErrors.unauthorized;
    const hit = this.cache?.get(token, now);
    if (hit === undefined) return undefined;
    this.opts.stats.cacheHits++;
    return this.decide(hit, methodArn);
  }

  /** Step 3. Never rejects. */
  async invoke(token: string, methodArn: string): Promise<AuthorizationOutcome> {
    const { opts } = this;
    opts.stats.authorizerInvocations++;
    const event: APIGatewayTokenAuthorizerEvent = { type: 'TOKEN', authorizationToken: token, methodArn };
    const started = performance.now();
    let output: unknown;
    try {
      output = await invokeWithTimeout(
        () => opts.handler(event, createLambdaContext('authorizer', opts.lambdaEnv, opts.timeoutMs)),
        opts.timeoutMs,
      );
    } catch (error) {
      if (isUnauthorizedSignal(error)) return GatewayErrors.unauthorized;
      opts.onFailure?.(error);
      return GatewayErrors.authorizerConfiguration;
    }
    let decision: AuthorizerDecision;
    try {
      decision = parseAuthorizerResult(output);
    } catch (error) {
      opts.onFailure?.(error);
      return GatewayErrors.authorizerConfiguration;
    }
    const entry: CachedDecision = {
      decision,
      cachedCaller: {
        kind: 'authorized',
        principalId: decision.principalId,
        context: decision.context,
        integrationLatency: 0,
      },
    };
    this.cache?.set(token, entry, opts.clock.now()); // the TTL runs from the answer
    const outcome = this.decide(entry, methodArn);
    if (outcome.kind !== 'authorized') return outcome;
    return { ...outcome, integrationLatency: Math.round(performance.now() - started) };
  }

  /** Forgets every cached result. */
  clear(): void {
    this.cache?.clear();
  }

  private decide(entry: CachedDecision, methodArn: string): AuthorizationOutcome {
    switch (evaluatePolicy(entry.decision.policy, methodArn)) {
      case 'allow':
        return entry.cachedCaller;
      case 'explicit-deny':
        return GatewayErrors.explicitDeny;
      case 'implicit-deny':
        return GatewayErrors.implicitDeny;
    }
  }
}
