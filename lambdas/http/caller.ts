/**
 * For services behind the gateway: who is calling, from `requestContext.authorizer` (set by our TOKEN
 * authorizer; API Gateway passes every value as a string). The gateway already enforced the route's
 * permission; `can()` lets a service make finer decisions of its own.
 *
 * API Gateway caches the authorizer's Allow per token for up to its TTL (300 s by default), so a request can
 * arrive after the token's `exp`: the context carries `exp`, and a caller whose token has expired is no caller.
 */
import type { APIGatewayProxyEvent } from 'aws-lambda';
import { grants, parseScope } from '../core/permissions.js';

/** Tolerated clock skew between the authorizer and a service, as the verifier's default (CLOCK_LEEWAY_SECONDS). */
export const CALLER_LEEWAY_SECONDS = 5;

export interface Caller {
  sub: string;
  sid: string;
  jti: string;
  /** The access token's expiry, epoch seconds. */
  exp: number;
  permissions: string[];
  can(permission: string): boolean;
}

/** A context value as a number: API Gateway passes strings, a direct invocation may pass the number. */
function numeric(v: unknown): number | undefined {
  const n = typeof v === 'number' ? v : typeof v === 'string' && v.trim() !== '' ? Number(v) : Number.NaN;
  return Number.isFinite(n) ? n : undefined;
}

/**
 * The caller, or undefined when there is none: the request did not come through the authorizer
 * (misconfiguration), its context has no valid `exp`, or the token has expired (`exp + leeway <= now`, the
 * verifier's rule). Services answer undefined as the gateway does: 401 `{"message":"Unauthorized"}`.
 *
 * @param nowMs the service's clock, milliseconds since the epoch
 */
export function callerFrom(
  event: Pick<APIGatewayProxyEvent, 'requestContext'>,
  nowMs: number,
  leewaySeconds: number = CALLER_LEEWAY_SECONDS,
): Caller | undefined {
  const a = event.requestContext?.authorizer as Record<string, unknown> | null | undefined;
  const sub = a?.sub ?? a?.principalId;
  if (typeof sub !== 'string' || sub === '') return undefined;
  const exp = numeric(a?.exp);
  if (exp === undefined || exp + leewaySeconds <= nowMs / 1000) return undefined;
  const permissions = typeof a?.scope === 'string' ? parseScope(a.scope) : [];
  const held = new Set(permissions);
  return {
    sub,
    sid: typeof a?.sid === 'string' ? a.sid : '',
    jti: typeof a?.jti === 'string' ? a.jti : '',
    exp,
    permissions,
    can: (p) => grants(held, p),
  };
}
