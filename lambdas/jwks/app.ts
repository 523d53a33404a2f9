/** GET /.well-known/jwks.json — the public keys (active first), cacheable by clients and CDNs. */
import type { APIGatewayProxyResult } from 'aws-lambda';
import type { Jwks } from '../core/ports.js';

export function createJwksHandler(jwks: Jwks) {
  // Only public members, whatever the source held.
  const body = `${JSON.stringify({
    keys: jwks.keys.map(({ kty, crv, x, y, kid, alg, use }) => ({ kty, crv, x, y, kid, alg, use })),
  })}\n`;
  return async (): Promise<APIGatewayProxyResult> => ({
    statusCode: 200,
    headers: { 'Content-Type': 'application/json', 'Cache-Control': 'public, max-age=300' },
    body,
  });
}
