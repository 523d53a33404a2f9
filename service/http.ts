/**
 * Small helpers for Lambda proxy handlers, the same ones tokengate's own functions use: JSON responses that are
 * never cached, a defensive body reader (JSON or form, bounded; every bad input a 400), and one mapping from
 * errors to responses (a client error → 4xx with a short description, anything unexpected → 500 with nothing
 * of the error in the body).
 */
import type { APIGatewayProxyResult } from 'aws-lambda';
import { errorResponse as mapError } from '../lambdas/http/responses.js';

export { json, empty } from '../lambdas/http/responses.js';
export { readBody, header, MAX_BODY_BYTES } from '../lambdas/http/request.js';
export { withCors, parseOrigins } from '../lambdas/http/cors.js';
export { DependencyUnavailableError, InvalidRequestError, PayloadTooLargeError } from '../lambdas/core/errors.js';

/**
 * The response for `err`: InvalidRequestError → 400 `{error:"invalid_request", error_description}`, a body too
 * large → 413, DependencyUnavailableError → 503 with `Retry-After`, anything else → 500 `{error:"server_error"}`.
 * `onUnexpected` gets the unexpected ones (default: their class and message on stderr, never the request).
 */
export function errorResponse(
  err: unknown,
  onUnexpected: (err: unknown) => void = (e) => console.error(`unexpected ${(e as Error)?.name}: ${(e as Error)?.message}`),
): APIGatewayProxyResult {
  return mapError(err, onUnexpected);
}
