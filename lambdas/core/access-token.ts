/**
 * Access tokens, RFC 9068 profile: a JWS with header `{alg:"ES256", typ:"at+jwt", kid}` and claims
 * `iss, sub, aud, exp, iat, jti, scope, sid`.
 *
 * Verification is aws-jwt-verify's `JwtVerifier.verifySync` (structure, kid, JWK/alg match, signature, exp/nbf,
 * iss, aud, with its prototype-pollution-safe JSON parsing) with the published key set loaded up front through
 * `cacheJwks`: there is no network per request, and a `kid` outside the set is refused, never fetched. On top,
 * through its documented extension point `customJwtCheck`, the RFC 9068 profile: `typ` at+jwt, `alg` ES256 on
 * a P-256 key, a `kid` always, no `crit`, `exp`/`iat`/`jti`/`sid`/`scope`/`sub` present and typed, a single
 * `aud`, and every time check again against the injected clock with the configured leeway (aws-jwt-verify
 * checks exp/nbf by the system clock; both must pass). Before any of it, one spelling per token: three
 * canonical base64url parts (token-format.ts), nothing longer than MAX_ACCESS_TOKEN_LENGTH.
 *
 * Every refusal is an InvalidTokenError with a stable reason (TokenRejection): aws-jwt-verify's error classes
 * are mapped in `rejectionOf`, the corpus test (test/unit/verify-corpus.test.ts) pins the reason per token.
 * The profile itself (customJwtCheck, spelling, reasons) lives in access-token-profile.ts, shared with the
 * service library's verifier (service/verifier.ts), which fetches the same keys from the JWKS URL instead.
 */
import { randomUUID } from 'node:crypto';
import { JwtVerifier } from 'aws-jwt-verify/jwt-verifier';
import type { Jwk } from 'aws-jwt-verify/jwk';
import {
  ACCESS_TOKEN_TYP,
  type AccessTokenClaims,
  assertTokenShape,
  MAX_ACCESS_TOKEN_LENGTH,
  profileCheck,
  rejectionOf,
} from './access-token-profile.js';
import { type Clock, systemClock } from './clock.js';
import { type Env, jwksSetting, tokenConfig } from './config.js';
import { InvalidRequestError, InvalidTokenError, TokenTooLargeError } from './errors.js';
import type { Jwks, Signer } from './ports.js';

// The profile is shared with the service library's verifier (service/verifier.ts); these stay importable here.
export { ACCESS_TOKEN_TYP, MAX_ACCESS_TOKEN_LENGTH, type AccessTokenClaims } from './access-token-profile.js';

export interface IssuedAccessToken {
  token: string;
  expiresIn: number;
  claims: AccessTokenClaims;
}

export class AccessTokenIssuer {
  private readonly maxTokenLength: number;

  constructor(
    private readonly signer: Signer,
    private readonly cfg: { issuer: string; audience: string; accessTokenTtlSeconds: number; maxTokenLength?: number },
    private readonly clock: Clock,
  ) {
    this.maxTokenLength = cfg.maxTokenLength ?? MAX_ACCESS_TOKEN_LENGTH;
  }

  /** Signs an access token; TokenTooLargeError when it would be longer than verifiers accept. */
  async issue(subject: { sub: string; sid: string; permissions: readonly string[] }): Promise<IssuedAccessToken> {
    const iat = Math.floor(this.clock.now() / 1000);
    const claims: AccessTokenClaims = {
      iss: this.cfg.issuer,
      sub: subject.sub,
      aud: this.cfg.audience,
      exp: iat + this.cfg.accessTokenTtlSeconds,
      iat,
      jti: randomUUID(),
      scope: subject.permissions.join(' '),
      sid: subject.sid,
    };
    const token = await this.signer.sign({ typ: ACCESS_TOKEN_TYP }, { ...claims });
    // Measured on the signed token itself (exact, whatever the signer's kid): a token no verifier would accept
    // is never handed out.
    if (token.length > this.maxTokenLength) {
      throw new TokenTooLargeError(
        `the access token of "${subject.sub}" would be ${token.length} characters, more than the ${this.maxTokenLength} verifiers accept: reduce the user's permissions`,
      );
    }
    return { token, expiresIn: this.cfg.accessTokenTtlSeconds, claims };
  }
}

/**
 * Upper bounds of what goes into a token besides the user's name and permissions, for `accessTokenLengthBound`:
 * `kid` (an RFC 7638 thumbprint: 43), `jti` (a UUID: 36), `sid` (22), `exp`/`iat` (any safe integer), and
 * `iss`/`aud` when the configuration is not at hand.
 */
export const TOKEN_SIZE_BOUNDS = { kid: 64, jti: 36, sid: 64, issuer: 512, audience: 256 } as const;

/** Characters of unpadded base64url for `bytes` bytes. */
const base64urlLength = (bytes: number): number => Math.ceil((bytes * 4) / 3);
const jsonPartLength = (value: unknown): number => base64urlLength(Buffer.byteLength(JSON.stringify(value), 'utf8'));
/** An ES256 signature: 64 bytes. */
const SIGNATURE_LENGTH = base64urlLength(64);

/**
 * The longest an access token for `sub` with `permissions` can be: the exact encoding of the header and the
 * claims with every part the issuer fills in at its bound (TOKEN_SIZE_BOUNDS; `issuer`/`audience` exactly when
 * given). At least the length of any token the issuer signs for them.
 */
export function accessTokenLengthBound(
  subject: { sub: string; permissions: readonly string[] },
  cfg: { issuer?: string | undefined; audience?: string | undefined } = {},
): number {
  const header = { alg: 'ES256', typ: ACCESS_TOKEN_TYP, kid: 'k'.repeat(TOKEN_SIZE_BOUNDS.kid) };
  const claims: AccessTokenClaims = {
    iss: cfg.issuer ?? 'i'.repeat(TOKEN_SIZE_BOUNDS.issuer),
    sub: subject.sub,
    aud: cfg.audience ?? 'a'.repeat(TOKEN_SIZE_BOUNDS.audience),
    exp: Number.MAX_SAFE_INTEGER,
    iat: Number.MAX_SAFE_INTEGER,
    jti: 'j'.repeat(TOKEN_SIZE_BOUNDS.jti),
    scope: subject.permissions.join(' '),
    sid: 's'.repeat(TOKEN_SIZE_BOUNDS.sid),
  };
  return jsonPartLength(header) + 1 + jsonPartLength(claims) + 1 + SIGNATURE_LENGTH;
}

/**
 * For the admin: refuses (InvalidRequestError) a permission set whose access tokens could be longer than
 * verifiers accept, before it is stored, so that no login ever fails on it.
 */
export function assertPermissionsFitToken(
  subject: { sub: string; permissions: readonly string[] },
  cfg: { issuer?: string | undefined; audience?: string | undefined; maxTokenLength?: number } = {},
): void {
  const max = cfg.maxTokenLength ?? MAX_ACCESS_TOKEN_LENGTH;
  const bound = accessTokenLengthBound(subject, cfg);
  if (bound > max) {
    throw new InvalidRequestError(
      `too many permissions: ${subject.permissions.length} would make access tokens of up to ${bound} characters, more than the ${max} verifiers accept`,
    );
  }
}

export interface VerifierOptions {
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

/** Never contacted: `verifySync` only reads the key set given to `cacheJwks`. */
const NO_JWKS_URI = 'https://jwks.invalid/.well-known/jwks.json';

export class AccessTokenVerifier {
  private readonly verifier;
  private readonly maxTokenLength: number;

  constructor(opts: VerifierOptions) {
    this.maxTokenLength = opts.maxTokenLength ?? MAX_ACCESS_TOKEN_LENGTH;
    this.verifier = JwtVerifier.create({
      issuer: opts.issuer,
      audience: opts.audience,
      jwksUri: NO_JWKS_URI,
      graceSeconds: opts.leewaySeconds,
      customJwtCheck: profileCheck({ leewaySeconds: opts.leewaySeconds, clock: opts.clock }),
    });
    // The key set is given up front: no network per request, and an unknown kid is simply rejected.
    this.verifier.cacheJwks({ keys: opts.jwks.keys.map((k): Jwk => ({ ...k })) });
  }

  /** Verifies `token` and returns its claims, or throws InvalidTokenError with the reason. */
  verify(token: string): AccessTokenClaims {
    assertTokenShape(token, this.maxTokenLength);
    try {
      return this.verifier.verifySync(token) as unknown as AccessTokenClaims;
    } catch (err) {
      throw new InvalidTokenError(rejectionOf(err), { cause: err });
    }
  }
}

/** The verifier from its environment (TOKEN_ISSUER, TOKEN_AUDIENCE, JWKS_JSON, CLOCK_LEEWAY_SECONDS). */
export function verifierFromEnv(env: Env, clock: Clock = systemClock): AccessTokenVerifier {
  const t = tokenConfig(env);
  return new AccessTokenVerifier({ issuer: t.issuer, audience: t.audience, jwks: jwksSetting(env), leewaySeconds: t.clockLeewaySeconds, clock });
}
