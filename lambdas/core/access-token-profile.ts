/**
 * The RFC 9068 access-token profile, ONE definition for every verifier of tokengate's tokens:
 * - the authorizer's (access-token.ts: aws-jwt-verify's `verifySync` with the deployment's key set given up
 *   front, no network at all), and
 * - a service's own (service/verifier.ts: aws-jwt-verify's `verify` against the deployment's JWKS URL, fetched
 *   once and cached, an unknown kid refetched under aws-jwt-verify's penalty box).
 *
 * Both hand aws-jwt-verify the same `customJwtCheck` (profileCheck), check the same spelling first
 * (assertTokenShape) and name every refusal the same way (rejectionOf), so a token gets the same verdict and the
 * same reason from both; test/unit/service-verifier.test.ts runs the verifier corpus through both.
 *
 * What the profile adds to aws-jwt-verify's checks (structure, kid, JWK/alg match, signature, exp/nbf by the
 * system clock, iss, aud): `typ` at+jwt, `alg` ES256 on a P-256 key, a `kid` always, no `crit`,
 * `exp`/`iat`/`jti`/`sid`/`scope`/`sub` present and typed, a single `aud`, every time check again against the
 * injected clock with the configured leeway; and before any of it three canonical base64url parts
 * (token-format.ts), nothing longer than MAX_ACCESS_TOKEN_LENGTH.
 *
 * No AWS SDK, no network here: only aws-jwt-verify's types and error classes.
 */
import {
  JwtExpiredError,
  JwtInvalidAudienceError,
  JwtInvalidIssuerError,
  JwtInvalidSignatureAlgorithmError,
  JwtInvalidSignatureError,
  JwtNotBeforeError,
  JwtWithoutValidKidError,
  KidNotFoundInJwksError,
  WaitPeriodNotYetEndedJwkError,
} from 'aws-jwt-verify/error';
import type { Jwk } from 'aws-jwt-verify/jwk';
import type { JwtHeader, JwtPayload } from 'aws-jwt-verify/jwt-model';
import type { Clock } from './clock.js';
import { InvalidTokenError, type TokenRejection } from './errors.js';
import { isCanonicalCompactJws } from './token-format.js';

export const ACCESS_TOKEN_TYP = 'at+jwt';

/** The longest access token a verifier accepts (and so the longest the issuer may sign). */
export const MAX_ACCESS_TOKEN_LENGTH = 8192;

export interface AccessTokenClaims {
  iss: string;
  sub: string;
  aud: string;
  exp: number;
  iat: number;
  jti: string;
  /** Space-separated permissions. */
  scope: string;
  /** The session this token belongs to: revoking the session revokes the token. */
  sid: string;
}

export interface ProfileOptions {
  /** Tolerated clock skew for exp/iat/nbf. */
  leewaySeconds: number;
  clock: Clock;
}

/** RFC 9068 §4: `typ` is `at+jwt` (media types compare case-insensitively; `application/` may be present). */
const isAccessTokenTyp = (typ: unknown): boolean => typeof typ === 'string' && /^(application\/)?at\+jwt$/i.test(typ);

const isNumericDate = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);
const isNonEmptyString = (v: unknown): v is string => typeof v === 'string' && v.length > 0;

/**
 * One spelling per token, before any parsing: a string of at most `maxTokenLength` characters made of three
 * canonical base64url parts. InvalidTokenError('malformed') otherwise.
 */
export function assertTokenShape(token: unknown, maxTokenLength: number = MAX_ACCESS_TOKEN_LENGTH): asserts token is string {
  if (typeof token !== 'string' || token.length === 0 || token.length > maxTokenLength || !isCanonicalCompactJws(token)) {
    throw new InvalidTokenError('malformed');
  }
}

/**
 * aws-jwt-verify's `customJwtCheck` for the profile. aws-jwt-verify calls it after the signature, exp/nbf
 * (system clock), iss and aud have passed; it checks the rest of the profile and the time claims by OUR clock.
 */
export function profileCheck(opts: ProfileOptions): (p: { header: JwtHeader; payload: JwtPayload; jwk: Jwk }) => void {
  return ({ header, payload, jwk }) => {
    // ES256 is ECDSA on P-256 (RFC 7518 §3.4); the JWK's alg (if any) has been matched already.
    if (header.alg !== 'ES256' || jwk.crv !== 'P-256' || !isNonEmptyString(header.kid) || !isAccessTokenTyp(header.typ)) {
      throw new InvalidTokenError('bad_header');
    }
    // RFC 7515 §4.1.11: a recipient that does not understand a listed extension MUST reject. We understand none.
    if (header.crit !== undefined) throw new InvalidTokenError('bad_header');

    const { exp, iat, nbf, sub, jti, sid, scope } = payload;
    if (!isNumericDate(exp) || !isNumericDate(iat)) throw new InvalidTokenError('bad_claims');
    if (!isNonEmptyString(sub) || !isNonEmptyString(jti) || !isNonEmptyString(sid) || typeof scope !== 'string') {
      throw new InvalidTokenError('bad_claims');
    }
    if (typeof payload.aud !== 'string') throw new InvalidTokenError('bad_audience');
    const now = opts.clock.now() / 1000;
    const leeway = opts.leewaySeconds;
    if (exp + leeway <= now) throw new InvalidTokenError('expired');
    if (iat - leeway > now) throw new InvalidTokenError('not_yet_valid');
    if (nbf !== undefined && (!isNumericDate(nbf) || nbf - leeway > now)) throw new InvalidTokenError('not_yet_valid');
  };
}

/**
 * aws-jwt-verify's error classes → our stable reasons. Anything else (JwtParseError, a JWK that does not import,
 * a signature node:crypto cannot even read) is `malformed`: refused, never a 500. A kid that is not in the key
 * set is `unknown_kid` whether the set was just refetched for it or aws-jwt-verify's penalty box refused to
 * refetch (a service verifier; the authorizer never fetches).
 */
export function rejectionOf(err: unknown): TokenRejection {
  if (err instanceof InvalidTokenError) return err.reason;
  if (err instanceof KidNotFoundInJwksError) return 'unknown_kid';
  if (err instanceof WaitPeriodNotYetEndedJwkError) return 'unknown_kid';
  if (err instanceof JwtWithoutValidKidError) return 'bad_header';
  if (err instanceof JwtInvalidSignatureAlgorithmError) return 'bad_header';
  if (err instanceof JwtInvalidSignatureError) return 'bad_signature';
  if (err instanceof JwtExpiredError) return 'expired';
  if (err instanceof JwtNotBeforeError) return 'not_yet_valid';
  if (err instanceof JwtInvalidIssuerError) return 'bad_issuer';
  if (err instanceof JwtInvalidAudienceError) return 'bad_audience';
  return 'malformed';
}
