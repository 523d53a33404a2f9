/** The token endpoint's success body (RFC 6749 §5.1), with the refresh token in the body or in a cookie. */
import type { APIGatewayProxyEvent, APIGatewayProxyResult } from 'aws-lambda';
import type { RefreshCookieConfig } from '../core/config.js';
import type { TokenSet } from '../core/sessions.js';
import { DEFAULT_REFRESH_COOKIE, refreshCookie, wantsCookieDelivery } from './cookies.js';
import { json } from './responses.js';

export function tokenResponse(
  event: Pick<APIGatewayProxyEvent, 'headers'>,
  t: TokenSet,
  cookie: RefreshCookieConfig = DEFAULT_REFRESH_COOKIE,
): APIGatewayProxyResult {
  const base = { access_token: t.accessToken, token_type: 'Bearer', expires_in: t.expiresIn };
  if (wantsCookieDelivery(event)) return json(200, base, {}, [refreshCookie(t.refreshToken, t.refreshExpiresIn, cookie)]);
  return json(200, { ...base, refresh_token: t.refreshToken });
}
