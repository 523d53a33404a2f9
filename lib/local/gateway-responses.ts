/**
 * The responses API Gateway itself produces (gateway responses and integration failures), as a deployed REST
 * API sends them when no custom gateway responses are configured. Bodies are serialized once.
 *
 * Where the exact bytes come from:
 * - 401 `{"message":"Unauthorized"}` with `x-amzn-ErrorType: UnauthorizedException`, and 403
 *   `{"Message":"User is not authorized to access this resource with an explicit deny"}` with
 *   `AccessDeniedException`: `curl -i` captures of deployed APIs. Note the capital `M` in both 403 bodies
 *   (`...access this resource` for a policy without a matching Allow): they do not come from the
 *   `{"message":$context.error.messageString}` gateway-response template.
 * - 403 Missing Authentication Token, 500 `{"message":null}` AuthorizerConfigurationException, the
 *   `x-amzn-ErrorType` values: AWS troubleshooting articles and LocalStack's AWS-validated gateway responses.
 * - 502 `{"message": "Internal server error"}` and 504 `{"message": "Endpoint request timed out"}` (with a
 *   space: integration failures are not template-rendered either): as widely reported, not in AWS docs.
 * - 413/414/400 bodies and error types are not documented by AWS; they follow the same pattern.
 */
import type { ServerResponse } from 'node:http';

export interface GatewayError {
  readonly kind: 'gateway-error';
  readonly status: number;
  /** The `x-amzn-ErrorType` header. */
  readonly errorType: string;
  readonly body: Buffer;
  readonly contentLength: string;
}

function gatewayError(status: number, errorType: string, body: string): GatewayError {
  const bytes = Buffer.from(body, 'utf8');
  return { kind: 'gateway-error', status, errorType, body: bytes, contentLength: String(bytes.length) };
}

export const GatewayErrors = {
  /** No resource or no method for the request: what REST APIs answer instead of 404/405. */
  missingAuthenticationToken: gatewayError(
    403,
    'MissingAuthenticationTokenException',
    '{"message":"Missing Authentication Token"}',
  ),
  /** No token, a token failing the identity validation expression, or the authorizer threw "Unauthorized". */
  unauthorized: gatewayError(401, 'UnauthorizedException', '{"message":"Unauthorized"}'),
  explicitDeny: gatewayError(
    403,
    'AccessDeniedException',
    '{"Message":"User is not authorized to access this resource with an explicit deny"}',
  ),
  implicitDeny: gatewayError(
    403,
    'AccessDeniedException',
    '{"Message":"User is not authorized to access this resource"}',
  ),
  /** The authorizer failed otherwise, or its output was malformed. */
  authorizerConfiguration: gatewayError(500, 'AuthorizerConfigurationException', '{"message":null}'),
  /** The function threw, or its result is not a valid proxy response. */
  integrationFailure: gatewayError(502, 'InternalServerErrorException', '{"message": "Internal server error"}'),
  /** The function did not answer within the 29 s integration timeout. */
  integrationTimeout: gatewayError(504, 'InternalServerErrorException', '{"message": "Endpoint request timed out"}'),
  /** Payload over the 10 MiB quota. */
  requestTooLarge: gatewayError(413, 'RequestTooLargeException', '{"message":"Request Too Long"}'),
  /** The method ARN would exceed 1600 bytes (documented as a 414; the body text is not documented). */
  uriTooLong: gatewayError(414, 'RequestUriTooLongException', '{"message":"Request URI too long"}'),
  /** A request the emulator cannot parse (bad percent-encoding in a path parameter, odd request target). */
  badRequest: gatewayError(400, 'BadRequestException', '{"message":"Bad Request"}'),
  /** A bug in the emulator itself; never expected. */
  internal: gatewayError(500, 'InternalServerErrorException', '{"message":"Internal server error"}'),
} as const;

/**
 * Writes a gateway error. `closeConnection` is for answers given while the request body is still unread (413,
 * or any refusal before the body): the connection is closed once the answer is written, so the body is neither
 * buffered nor drained. Returns the status written (0 if nothing could be written).
 */
export function sendGatewayError(
  res: ServerResponse,
  error: GatewayError,
  requestId: string,
  closeConnection = false,
): number {
  if (res.headersSent || res.destroyed) {
    res.destroy();
    return 0;
  }
  const headers = [
    'Content-Type',
    'application/json',
    'Content-Length',
    error.contentLength,
    'x-amzn-RequestId',
    requestId,
    'x-amzn-ErrorType',
    error.errorType,
  ];
  if (closeConnection) headers.push('Connection', 'close');
  res.writeHead(error.status, headers);
  res.end(error.body);
  return error.status;
}
