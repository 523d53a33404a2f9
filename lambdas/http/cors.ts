/**
 * CORS on the functions' own responses (the stack adds the same to API Gateway's error responses and
 * preflights). Only origins listed in CORS_ALLOW_ORIGINS are echoed, with credentials allowed, so cookie
 * mode works cross-origin for those and for no one else.
 */
import type { APIGatewayProxyEvent, APIGatewayProxyResult } from 'aws-lambda';
import { header } from './request.js';

export const parseOrigins = (value: string | undefined): string[] =>
  (value ?? '').split(',').map((s) => s.trim()).filter((s) => s !== '');

export function corsHeaders(event: Pick<APIGatewayProxyEvent, 'headers'>, allowed: readonly string[]): Record<string, string> {
  const origin = header(event, 'origin');
  if (origin === undefined || !allowed.includes(origin)) return {};
  return {
    'Access-Control-Allow-Origin': origin,
    'Access-Control-Allow-Credentials': 'true',
    'Access-Control-Expose-Headers': 'Retry-After, WWW-Authenticate, Location',
    Vary: 'Origin',
  };
}

/** Wraps a proxy handler so that its responses carry CORS headers for allowed origins. */
export function withCors<E extends Pick<APIGatewayProxyEvent, 'headers'>>(
  allowed: readonly string[],
  handler: (event: E) => Promise<APIGatewayProxyResult>,
): (event: E) => Promise<APIGatewayProxyResult> {
  if (allowed.length === 0) return handler;
  return async (event) => {
    const res = await handler(event);
    const extra = corsHeaders(event, allowed);
    return Object.keys(extra).length === 0 ? res : { ...res, headers: { ...res.headers, ...extra } };
  };
}
