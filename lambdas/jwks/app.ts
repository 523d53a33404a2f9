/**
 * GET /.well-known/jwks.json — the public keys (active first), cacheable by clients and CDNs; and, on a deployed API,
 * GET /openapi.json — the API's OpenAPI document, compiled into this function's bundle. Both public, both static.
 */
import type { APIGatewayProxyEvent, APIGatewayProxyResult } from 'aws-lambda';
import type { Jwks } from '../core/ports.js';

const HEADERS = { 'Content-Type': 'application/json', 'Cache-Control': 'public, max-age=300' };

export function createJwksHandler(jwks: Jwks, openApiDocument?: string) {
  // Only public members, whatever the source held.
  const body = `${JSON.stringify({
    keys: jwks.keys.map(({ kty, crv, x, y, kid, alg, use }) => ({ kty, crv, x, y, kid, alg, use })),
  })}\n`;
  const openapi = openApiDocument === undefined ? undefined : `${openApiDocument}\n`;
  return async (event?: Partial<Pick<APIGatewayProxyEvent, 'resource' | 'headers'>>): Promise<APIGatewayProxyResult> =>
    event?.resource === '/openapi.json' && openapi !== undefined
      ? { statusCode: 200, headers: { ...HEADERS }, body: openapi }
      : { statusCode: 200, headers: { ...HEADERS }, body };
}
