/**
 * The reference: the access-token verifier as it was written on top of aws-jwt-verify (JwtVerifier.verifySync
 * plus the RFC 9068 profile as a customJwtCheck), kept verbatim. lambdas/core/access-token.ts must give the same
 * verdict and the same reason for every token (verify-crosscheck.test.ts, and the benchmark refuses to time a
 * verifier that disagrees); the benchmark also times it as "aws-jwt-verify + profile".
 */
import { JwtVerifier } from 'aws-jwt-verify';
import {
  JwtExpiredError,
  JwtInvalidAudienceError,
  JwtInvalidIssuerError,
  JwtInvalidSignatureAlgorithmError,
  JwtInvalidSignatureError,
  JwtNotBeforeError,
  JwtWithoutValidKidError,
  KidNotFoundInJwksError,
} from 'aws-jwt-verify/error';
import type { Jwk } from 'aws-jwt-verify/jwk';
import type { Clock } from '../../lambdas/core/clock.js';
import { InvalidTokenError, type TokenRejection } from '../../lambdas/core/errors.js';
import type { Jwks } from '../../lambdas/core/ports.js';
import type { AccessTokenClaims } from '../../lambdas/core/access-token.js';

interface VerifierOptions {
  issuer: string;
  audience: string;
  /** Public keys trusted for verification (all published keys: active and previous). */
  jwks: Jwks;
  /** Tolerated clock skew for exp/iat/nbf. */
  leewaySeconds: number;
  clock: Clock;
  /** Longest token accepted before any parsing (cheap DoS guard). */
  maxTokenLength?: number;
}

/** RFC 9068 §4: `typ` is `at+jwt` (media types compare case-insensitively; `application/` may be present). */
const isAccessTokenTyp = (typ: unknown): boolean =>
  typeof typ === 'string' && /^(application\/)?at\+jwt$/i.test(typ);

const isNumericDate = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);
const isNonEmptyString = (v: unknown): v is string => typeof v === 'string' && v.length > 0;

/** Maps aws-jwt-verify's error classes to our stable rejection reasons. */
function rejectionOf(err: unknown): TokenRejection {
  if (err instanceof InvalidTokenError) return err.reason;
  if (err instanceof KidNotFoundInJwksError) return 'unknown_kid';
  if (err instanceof JwtWithoutValidKidError) return 'bad_header';
  if (err instanceof JwtInvalidSignatureAlgorithmError) return 'bad_header';
  if (err instanceof JwtInvalidSignatureError) return 'bad_signature';
  if (err instanceof JwtExpiredError) return 'expired';
  if (err instanceof JwtNotBeforeError) return 'not_yet_valid';
  if (err instanceof JwtInvalidIssuerError) return 'bad_issuer';
  if (err instanceof JwtInvalidAudienceError) return 'bad_audience';
  return 'malformed';
}

export class ReferenceAccessTokenVerifier {
  private readonly verifier;
  private readonly maxTokenLength: number;

  constructor(private readonly opts: VerifierOptions) {
    this.maxTokenLength = opts.maxTokenLength ?? 8192;
    this.verifier = JwtVerifier.create({
      issuer: opts.issuer,
      audience: opts.audience,
      // Never fetched: the key set is given up front (cacheJwks below), so there is no network per request
      // and an unknown kid is simply rejected.
      jwksUri: 'https://keys.invalid/.well-known/jwks.json',
      graceSeconds: opts.leewaySeconds,
      customJwtCheck: ({ header, payload }) => this.checkProfile(header, payload),
    });
    this.verifier.cacheJwks({ keys: opts.jwks.keys.map((k): Jwk => ({ ...k })) });
  }

  /** Verifies `token` and returns its claims, or throws InvalidTokenError with the reason. */
  verify(token: string): AccessTokenClaims {
    if (typeof token !== 'string' || token.length === 0 || token.length > this.maxTokenLength) {
      throw new InvalidTokenError('malformed');
    }
    let payload: Record<string, unknown>;
    try {
      payload = this.verifier.verifySync(token) as Record<string, unknown>;
    } catch (err) {
      throw new InvalidTokenError(rejectionOf(err), { cause: err });
    }
    return payload as unknown as AccessTokenClaims;
  }

  /**
   * Runs after the signature has been verified: the RFC 9068 profile and time checks by OUR clock
   * (aws-jwt-verify checks exp/nbf too, by the system clock; both must pass).
   */
  private checkProfile(header: Record<string, unknown>, payload: Record<string, unknown>): void {
    if (header.alg !== 'ES256' || !isNonEmptyString(header.kid) || !isAccessTokenTyp(header.typ)) {
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
    const now = this.opts.clock.now() / 1000;
    const leeway = this.opts.leewaySeconds;
    if (exp + leeway <= now) throw new InvalidTokenError('expired');
    if (iat - leeway > now) throw new InvalidTokenError('not_yet_valid');
    if (nbf !== undefined && (!isNumericDate(nbf) || nbf - leeway > now)) throw new InvalidTokenError('not_yet_valid');
  }
}
