/**
 * For services behind the gateway: who is calling, from `requestContext.authorizer` (set by our TOKEN
 * authorizer; API Gateway passes every value as a string). The gateway already enforced the route's
 * permission; `can()` lets a service make finer decisions of its own.
 */
import type { APIGatewayProxyEvent } from 'aws-lambda';
import { grants, parseScope } from '../core/permissions.js';

export interface Caller {
  sub: string;
  sid: string;
  jti: string;
  permissions: string[];
  can(permission: string): boolean;
}

/** The caller, or undefined when the request did not come through the authorizer (misconfiguration). */
export function callerFrom(event: Pick<APIGatewayProxyEvent, 'requestContext'>): Caller | undefined {
  const a = event.requestContext?.authorizer as Record<string, unknown> | null | undefined;
  const sub = a?.sub ?? a?.principalId;
  if (typeof sub !== 'string' || sub === '') return undefined;
  const permissions = typeof a?.scope === 'string' ? parseScope(a.scope) : [];
  const held = new Set(permissions);
  return {
    sub,
    sid: typeof a?.sid === 'string' ? a.sid : '',
    jti: typeof a?.jti === 'string' ? a.jti : '',
    permissions,
    can: (p) => grants(held, p),
  };
}
