/** POST /auth/login — `{username, password}` → access token + refresh token (body, or HttpOnly cookie). */
import type { APIGatewayProxyEvent, APIGatewayProxyResult } from 'aws-lambda';
import type { RefreshCookieConfig } from '../core/config.js';
import type { AuthService } from '../core/sessions.js';
import { tokenResponse } from '../http/token-response.js';
import { errorResponse } from '../http/responses.js';
import { optionalStringField, readBody } from '../http/request.js';
import type { Observability } from '../observability.js';
import { logUnexpected } from '../observability.js';

export function createLoginHandler(deps: { auth: AuthService; obs: Observability; cookie?: RefreshCookieConfig }) {
  const onUnexpected = logUnexpected(deps.obs);
  return async (event: APIGatewayProxyEvent): Promise<APIGatewayProxyResult> => {
    try {
      const body = readBody(event);
      // The TCP peer as API Gateway saw it (never X-Forwarded-For, which the client writes): throttling is per address.
      const tokens = await deps.auth.login(
        optionalStringField(body, 'username'),
        optionalStringField(body, 'password'),
        event.requestContext?.identity?.sourceIp ?? undefined,
      );
      return tokenResponse(event, tokens, deps.cookie);
    } catch (err) {
      return errorResponse(err, onUnexpected);
    }
  };
}
