/**
 * POST /auth/logout — `Authorization: Bearer <access token>` and/or a refresh token (body or cookie);
 * `{"all": true}` ends every session of the user. 204 on success, also when already logged out.
 */
import type { APIGatewayProxyEvent, APIGatewayProxyResult } from 'aws-lambda';
import type { AccessTokenClaims, AccessTokenVerifier } from '../core/access-token.js';
import { InvalidRequestError, InvalidTokenError } from '../core/errors.js';
import type { AuthService } from '../core/sessions.js';
import { clearRefreshCookie, wantsCookieDelivery } from '../http/cookies.js';
import { bearerToken, readBody } from '../http/request.js';
import { empty, errorResponse } from '../http/responses.js';
import { logUnexpected, type Observability } from '../observability.js';
import { presentedRefreshToken } from '../refresh/app.js';

export function createLogoutHandler(deps: { auth: AuthService; verifier: AccessTokenVerifier; obs: Observability; cookiePath?: string }) {
  const onUnexpected = logUnexpected(deps.obs);
  return async (event: APIGatewayProxyEvent): Promise<APIGatewayProxyResult> => {
    try {
      const body = readBody(event);
      if (body.all !== undefined && typeof body.all !== 'boolean' && body.all !== 'true' && body.all !== 'false') {
        throw new InvalidRequestError('all must be a boolean');
      }
      const all = body.all === true || body.all === 'true';
      const refreshToken = presentedRefreshToken(event, body);
      const bearer = bearerToken(event);

      let claims: AccessTokenClaims | undefined;
      if (bearer !== undefined) {
        try {
          claims = deps.verifier.verify(bearer);
        } catch (err) {
          // An expired access token is no reason to refuse ending the session with the refresh token.
          if (!(err instanceof InvalidTokenError) || refreshToken === undefined) throw err;
        }
      }
      if (claims === undefined && refreshToken === undefined) throw new InvalidTokenError('malformed');

      await deps.auth.logout({
        ...(claims ? { sub: claims.sub, sid: claims.sid } : {}),
        ...(refreshToken !== undefined ? { refreshToken } : {}),
        all,
      });
      return empty(204, wantsCookieDelivery(event) ? [clearRefreshCookie(deps.cookiePath)] : []);
    } catch (err) {
      return errorResponse(err, onUnexpected);
    }
  };
}
