/**
 * Who is calling, for a service behind the gateway: the TOKEN authorizer put the caller into
 * `requestContext.authorizer` (`sub`, `scope`, `sid`, `jti`, `exp`; API Gateway passes every value as a string).
 * The gateway already enforced the route's permission; `caller.can()` and `requirePermission()` are for the
 * finer decisions a service makes itself (e.g. before it calls another service on the caller's behalf).
 *
 * API Gateway caches the authorizer's Allow per token for up to its TTL (300 s by default), so a request can
 * arrive after the token's `exp`: a caller whose token has expired is no caller (answer 401, `unauthorized()`).
 */
import type { APIGatewayProxyEvent, APIGatewayProxyResult } from 'aws-lambda';
import { grants, parseScope } from '../lambdas/core/permissions.js';

/** Tolerated clock skew between the authorizer and a service, as the verifier's default (CLOCK_LEEWAY_SECONDS). */
export const CALLER_LEEWAY_SECONDS = 5;

export interface Caller {
  /** The user. */
  readonly sub: string;
  /** The session the caller's token belongs to. */
  readonly sid: string;
  /** The token's id. */
  readonly jti: string;
  /** The access token's expiry, epoch seconds. */
  readonly exp: number;
  /** The caller's permissions (`resource:action`, `resource:*`). */
  readonly permissions: readonly string[];
  /** Does the caller hold `permission` (exactly, or through `resource:*`)? */
  can(permission: string): boolean;
}

export interface CallerOptions {
  /** The service's clock (milliseconds since the epoch). @default Date.now */
  clock?: { now(): number };
  /** Tolerated clock skew for `exp`. @default CALLER_LEEWAY_SECONDS */
  leewaySeconds?: number;
}

/** The parts of a caller a token or an authorizer context provides. */
export interface CallerClaims {
  sub: string;
  sid?: string;
  jti?: string;
  exp: number;
  /** Space-separated permissions. */
  scope?: string;
}

/** A caller from verified claims (callerFrom and the token verifier both build one this way). */
export function callerFromClaims(claims: CallerClaims): Caller {
  const permissions = Object.freeze(typeof claims.scope === 'string' ? parseScope(claims.scope) : []);
  const held = new Set(permissions);
  return Object.freeze({
    sub: claims.sub,
    sid: claims.sid ?? '',
    jti: claims.jti ?? '',
    exp: claims.exp,
    permissions,
    can: (p: string) => grants(held, p),
  });
}

/** A context value as a number: API Gateway passes strings, a direct invocation may pass the number. */
function numeric(v: unknown): number | undefined {
  const n = typeof v === 'number' ? v : typeof v === 'string' && v.trim() !== '' ? Number(v) : Number.NaN;
  return Number.isFinite(n) ? n : undefined;
}

/**
 * The caller of a request that came through tokengate's authorizer, or undefined when there is none: the
 * request did not come through the authorizer (a public route, a misconfiguration), its context has no valid
 * `exp`, or the token has expired (`exp + leeway <= now`, the verifier's rule). Answer undefined with
 * `unauthorized()`, as the gateway would.
 */
export function callerFrom(event: Pick<APIGatewayProxyEvent, 'requestContext'>, opts: CallerOptions = {}): Caller | undefined {
  const a = event.requestContext?.authorizer as Record<string, unknown> | null | undefined;
  const sub = a?.sub ?? a?.principalId;
  if (typeof sub !== 'string' || sub === '') return undefined;
  const exp = numeric(a?.exp);
  const nowMs = opts.clock ? opts.clock.now() : Date.now();
  if (exp === undefined || exp + (opts.leewaySeconds ?? CALLER_LEEWAY_SECONDS) <= nowMs / 1000) return undefined;
  return callerFromClaims({
    sub,
    exp,
    ...(typeof a?.sid === 'string' ? { sid: a.sid } : {}),
    ...(typeof a?.jti === 'string' ? { jti: a.jti } : {}),
    ...(typeof a?.scope === 'string' ? { scope: a.scope } : {}),
  });
}

const JSON_HEADERS = { 'Content-Type': 'application/json', 'Cache-Control': 'no-store' };

/** The body of a 403 for a missing permission: the API's error shape plus the permission that is missing. */
export interface InsufficientScopeBody {
  message: 'Forbidden';
  error: 'insufficient_scope';
  /** The permission the caller lacks. */
  required: string;
}

export const insufficientScopeBody = (permission: string): InsufficientScopeBody => ({
  message: 'Forbidden',
  error: 'insufficient_scope',
  required: permission,
});

/** 401 `{"message":"Unauthorized"}`, exactly as the gateway answers a missing or bad token. */
export function unauthorized(): APIGatewayProxyResult {
  return { statusCode: 401, headers: { ...JSON_HEADERS }, body: JSON.stringify({ message: 'Unauthorized' }) };
}

/**
 * 403 `{"message":"Forbidden","error":"insufficient_scope","required":"<permission>"}` with
 * `WWW-Authenticate: Bearer error="insufficient_scope", scope="<permission>"` (RFC 6750 §3.1).
 */
export function forbidden(permission: string): APIGatewayProxyResult {
  return {
    statusCode: 403,
    headers: { ...JSON_HEADERS, 'WWW-Authenticate': `Bearer error="insufficient_scope", scope="${permission}"` },
    body: `${JSON.stringify(insufficientScopeBody(permission))}\n`,
  };
}

/**
 * The one-line permission check: undefined when the caller holds `permission`, otherwise the response to
 * return: `forbidden(permission)` (403 naming it), or `unauthorized()` (401) when there is no caller.
 *
 *     const denied = requirePermission(caller, 'inventory:reserve');
 *     if (denied) return denied;
 */
export function requirePermission(caller: Caller | undefined, permission: string): APIGatewayProxyResult | undefined {
  if (!caller) return unauthorized();
  return caller.can(permission) ? undefined : forbidden(permission);
}
