/** POST /auth/refresh — rotates the refresh token (from the body, or from the cookie with the CSRF header). */
import type { APIGatewayProxyEvent, APIGatewayProxyResult } from 'aws-lambda';
import type { RefreshCookieConfig } from '../core/config.js';
import type { AuthService } from '../core/sessions.js';
import { DEFAULT_REFRESH_COOKIE, readRefreshCookie, wantsCookieDelivery } from '../http/cookies.js';
import { optionalStringField, readBody } from '../http/request.js';
import { ForbiddenRequestError, errorResponse } from '../http/responses.js';
import { tokenResponse } from '../http/token-response.js';
import { logUnexpected, type Observability } from '../observability.js';

/**
 * The refresh token a request presents: the body's `refresh_token`, else the cookie. A cookie is only
 * honoured together with the `X-Token-Delivery: cookie` header (the CSRF guard, 403 without it); a request
 * carrying the cookie twice is refused (400), whichever copy is genuine.
 */
export function presentedRefreshToken(
  event: APIGatewayProxyEvent,
  body: Record<string, unknown>,
  cookie: RefreshCookieConfig = DEFAULT_REFRESH_COOKIE,
): string | undefined {
  const fromBody = optionalStringField(body, 'refresh_token');
  if (fromBody !== undefined && fromBody !== '') return fromBody;
  const fromCookie = readRefreshCookie(event, cookie);
  if (fromCookie === undefined || fromCookie === '') return undefined;
  if (!wantsCookieDelivery(event)) {
    throw new ForbiddenRequestError('a cookie-based request needs the X-Token-Delivery: cookie header (CSRF guard)');
  }
  return fromCookie;
}

export function createRefreshHandler(deps: { auth: AuthService; obs: Observability; cookie?: RefreshCookieConfig }) {
  const onUnexpected = logUnexpected(deps.obs);
  return async (event: APIGatewayProxyEvent): Promise<APIGatewayProxyResult> => {
    try {
      const body = readBody(event);
      const tokens = await deps.auth.refresh(presentedRefreshToken(event, body, deps.cookie));
      return tokenResponse(event, tokens, deps.cookie);
    } catch (err) {
      return errorResponse(err, onUnexpected);
    }
  };
}
