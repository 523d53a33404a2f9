/** Proxy-integration responses and the one place where domain errors become HTTP statuses. */
import type { APIGatewayProxyResult } from 'aws-lambda';
import {
  DependencyUnavailableError,
  InvalidGrantError,
  InvalidRequestError,
  InvalidTokenError,
  PayloadTooLargeError,
  TooManyAttemptsError,
} from '../core/errors.js';

/** RFC 6749 §5.1: responses that carry tokens must not be cached. */
const NO_STORE = { 'Content-Type': 'application/json', 'Cache-Control': 'no-store', Pragma: 'no-cache' };

export function json(
  statusCode: number,
  body: unknown,
  headers: Record<string, string> = {},
  cookies: string[] = [],
): APIGatewayProxyResult {
  return {
    statusCode,
    headers: { ...NO_STORE, ...headers },
    ...(cookies.length > 0 ? { multiValueHeaders: { 'Set-Cookie': cookies } } : {}),
    // A trailing newline, as curl users expect: the next prompt starts on a line of its own.
    body: `${JSON.stringify(body)}\n`,
  };
}

export function empty(statusCode: number, cookies: string[] = []): APIGatewayProxyResult {
  return {
    statusCode,
    headers: { 'Cache-Control': 'no-store' },
    ...(cookies.length > 0 ? { multiValueHeaders: { 'Set-Cookie': cookies } } : {}),
    body: '',
  };
}

/** A refused CSRF check or similar: the request is understood but not allowed. */
export class ForbiddenRequestError extends InvalidRequestError {}

/**
 * Maps an error to a response. Client errors carry a short description; anything unexpected is a 500 with
 * nothing of the error in the body. `onUnexpected` gets the error for logging (never the request).
 */
export function errorResponse(err: unknown, onUnexpected: (err: unknown) => void): APIGatewayProxyResult {
  if (err instanceof PayloadTooLargeError) return json(413, { error: 'invalid_request', error_description: err.message });
  if (err instanceof ForbiddenRequestError) return json(403, { error: 'invalid_request', error_description: err.message });
  if (err instanceof InvalidRequestError) return json(400, { error: 'invalid_request', error_description: err.message });
  if (err instanceof InvalidGrantError) return json(401, { error: 'invalid_grant' });
  if (err instanceof InvalidTokenError) {
    return json(401, { error: 'invalid_token' }, { 'WWW-Authenticate': 'Bearer error="invalid_token"' });
  }
  if (err instanceof TooManyAttemptsError) {
    return json(429, { error: 'too_many_attempts', retry_after: err.retryAfterSeconds }, { 'Retry-After': String(err.retryAfterSeconds) });
  }
  if (err instanceof DependencyUnavailableError) {
    onUnexpected(err);
    return json(503, { error: 'temporarily_unavailable' }, { 'Retry-After': '1' });
  }
  onUnexpected(err);
  return json(500, { error: 'server_error' });
}
