/**
 * POST /auth/logout — `Authorization: Bearer <access token>` and/or a refresh token (body or cookie);
 * `{"all": true}` ends every session of the user. 204 on success, also when already logged out.
 *
 * Credentials are never silently ignored: an `Authorization` header that is not a genuine access token of ours
 * (garbage, forged, another audience, not yet valid) is a 401 and nothing is ended, even next to a good refresh
 * token. The one exception is a genuine token that has merely expired, set aside when a refresh token comes
 * along (a client logging out after a long idle). What each credential may end is the domain's rule
 * (AuthService.logout): `all` only with a live one.
 */
import type { APIGatewayProxyEvent, APIGatewayProxyResult } from 'aws-lambda';
import type { AccessTokenClaims, AccessTokenVerifier } from '../core/access-token.js';
import type { RefreshCookieConfig } from '../core/config.js';
import { InvalidRequestError, InvalidTokenError } from '../core/errors.js';
import type { AuthService } from '../core/sessions.js';
import { clearRefreshCookie, wantsCookieDelivery } from '../http/cookies.js';
import { bearerToken, header, readBody } from '../http/request.js';
import { empty, errorResponse } from '../http/responses.js';
import { logUnexpected, type Observability } from '../observability.js';
import { presentedRefreshToken } from '../refresh/app.js';

export function createLogoutHandler(deps: {
  auth: AuthService;
  verifier: AccessTokenVerifier;
  obs: Observability;
  cookie?: RefreshCookieConfig;
}) {
  const onUnexpected = logUnexpected(deps.obs);
  return async (event: APIGatewayProxyEvent): Promise<APIGatewayProxyResult> => {
    try {
      const body = readBody(event);
      if (body.all !== undefined && typeof body.all !== 'boolean' && body.all !== 'true' && body.all !== 'false') {
        throw new InvalidRequestError('all must be a boolean');
      }
      const all = body.all === true || body.all === 'true';
      const refreshToken = presentedRefreshToken(event, body, deps.cookie);

      const authorization = header(event, 'authorization');
      const bearer = bearerToken(event);
      if (bearer === undefined && authorization !== undefined && authorization.trim() !== '') {
        throw new InvalidTokenError('malformed'); // present but not `Bearer <token>`: refused, not ignored
      }
      let claims: AccessTokenClaims | undefined;
      if (bearer !== undefined) {
        try {
          claims = deps.verifier.verify(bearer);
        } catch (err) {
          // `expired` is only decided after the signature: this is one of our tokens, just old.
          const expired = err instanceof InvalidTokenError && err.reason === 'expired';
          if (!expired || refreshToken === undefined) throw err;
        }
      }
      if (claims === undefined && refreshToken === undefined) throw new InvalidTokenError('malformed');

      await deps.auth.logout({
        ...(claims ? { sub: claims.sub, sid: claims.sid } : {}),
        ...(refreshToken !== undefined ? { refreshToken } : {}),
        all,
      });
      return empty(204, wantsCookieDelivery(event) ? [clearRefreshCookie(deps.cookie)] : []);
    } catch (err) {
      return errorResponse(err, onUnexpected);
    }
  };
}
