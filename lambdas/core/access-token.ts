/**
 * Access tokens, RFC 9068 profile: a JWS with header `{alg:"ES256", typ:"at+jwt", kid}` and claims
 * `iss, sub, aud, exp, iat, jti, scope, sid`.
 *
 * Verification is a sequence of named steps, in exactly the order and with exactly the outcomes of
 * aws-jwt-verify's `JwtVerifier.verifySync` (structure, kid, JWK/alg match, ES256 signature, exp/nbf by the
 * system clock, iss, aud) followed by what it leaves out for this profile: `exp` and `iat` required, `typ` must
 * be `at+jwt`, no unknown `crit`, a `kid` always, and every time check against the injected clock with a small
 * leeway.
 *
 * Why not call aws-jwt-verify on the hot path: this runs in front of every request. Its general-purpose path
 * (a JSON reviver on every parse, streaming `createVerify`, a three-level key-cache lookup, every algorithm and
 * key type) costs 10-20% of the throughput of the bare signature check and 16.6 KB of the authorizer bundle,
 * against 0.95+ and ~4 KB for these steps (docs/BENCHMARKS.md). aws-jwt-verify stays in the design as the
 * reference: its own `safeJsonParse` parses any header or payload that could carry `__proto__`/`constructor`,
 * and test/bench/verify-crosscheck.test.ts checks that both give the same verdict and reason on a corpus of
 * valid, forged and malformed tokens.
 */
import { randomUUID, createVerify, verify as cryptoVerify, type KeyObject, createPublicKey } from 'node:crypto';
import { safeJsonParse } from 'aws-jwt-verify/safe-json-parse';
import { type Clock, systemClock } from './clock.js';
import { type Env, jwksSetting, tokenConfig } from './config.js';
import { InvalidTokenError, type TokenRejection } from './errors.js';
import type { Jwks, PublicJwk, Signer } from './ports.js';

export const ACCESS_TOKEN_TYP = 'at+jwt';

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

export interface IssuedAccessToken {
  token: string;
  expiresIn: number;
  claims: AccessTokenClaims;
}

export class AccessTokenIssuer {
  constructor(
    private readonly signer: Signer,
    private readonly cfg: { issuer: string; audience: string; accessTokenTtlSeconds: number },
    private readonly clock: Clock,
  ) {}

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
    return { token, expiresIn: this.cfg.accessTokenTtlSeconds, claims };
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

/** RFC 9068 §4: `typ` is `at+jwt` (media types compare case-insensitively; `application/` may be present). */
const isAccessTokenTyp = (typ: unknown): boolean =>
  typ === ACCESS_TOKEN_TYP || (typeof typ === 'string' && /^(application\/)?at\+jwt$/i.test(typ));

const isNumericDate = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);
const isNonEmptyString = (v: unknown): v is string => typeof v === 'string' && v.length > 0;

/** aws-jwt-verify's shape check: three base64url parts, optional padding. */
const JWS_SHAPE = /^[A-Za-z0-9_-]+={0,2}\.[A-Za-z0-9_-]+={0,2}\.[A-Za-z0-9_-]+={0,2}$/;
/** The same check for what follows a header that passed it before (sticky: starts at `lastIndex`). */
const REST_SHAPE = /[A-Za-z0-9_-]+={0,2}\.[A-Za-z0-9_-]+={0,2}$/y;
/** The algorithms aws-jwt-verify accepts for a JWK without `alg`, and the digest each one uses. */
const DIGEST_OF: Readonly<Record<string, string | null>> = {
  RS256: 'sha256', RS384: 'sha384', RS512: 'sha512', ES256: 'sha256', ES384: 'sha384', ES512: 'sha512', EdDSA: null,
};
/** P1363 signature length per named curve (createVerify throws on any other length: `malformed`). */
const SIGNATURE_BYTES: Readonly<Record<string, number>> = { prime256v1: 64, secp384r1: 96, secp521r1: 132 };
/** Distinct headers remembered (one per signing key in practice); more and the memory starts over. */
const MAX_KNOWN_HEADERS = 16;

type Json = Record<string, unknown>;
const malformed = (): InvalidTokenError => new InvalidTokenError('malformed');
const isJsonObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

/** base64 (url) → UTF-8 text, as aws-jwt-verify decodes. */
const decodeBase64 = (part: string): string => Buffer.from(part, 'base64').toString('utf8');

/**
 * JSON as aws-jwt-verify parses it: its safeJsonParse drops `__proto__` and `constructor` keys at any depth. A
 * text that cannot hold such a key (not even \u-escaped) parses the same without the reviver, and faster.
 */
function parseJson(text: string): unknown {
  try {
    return text.indexOf('\\') < 0 && text.indexOf('__proto__') < 0 && text.indexOf('constructor') < 0
      ? JSON.parse(text)
      : safeJsonParse(text);
  } catch {
    throw malformed();
  }
}

/** aws-jwt-verify's payload assertions: registered claims of the wrong type make the token malformed. */
function payloadShapeOk(p: Json): boolean {
  const { exp, iss, sub, aud, nbf, iat, scope, jti } = p;
  return (
    (exp === undefined || Number.isFinite(exp)) &&
    (iss === undefined || typeof iss === 'string') &&
    (sub === undefined || typeof sub === 'string') &&
    (aud === undefined || typeof aud === 'string' || (Array.isArray(aud) && aud.every((a) => typeof a === 'string'))) &&
    (nbf === undefined || Number.isFinite(nbf)) &&
    (iat === undefined || Number.isFinite(iat)) &&
    (scope === undefined || typeof scope === 'string') &&
    (jti === undefined || typeof jti === 'string')
  );
}

interface TrustedKey {
  /** The JWK's `alg` if it has one (the header must then name exactly it). */
  readonly alg: string | undefined;
  /** False when the JWK fails aws-jwt-verify's signature-key assertions: tokens naming it are malformed. */
  readonly usable: boolean;
  /** For crypto.verify; undefined when the JWK does not import (tokens naming it are malformed). */
  readonly key: { key: KeyObject; dsaEncoding: 'ieee-p1363' } | undefined;
  readonly signatureBytes: number;
}

function trustedKey(jwk: PublicJwk): TrustedKey {
  const loose = jwk as Partial<Record<keyof PublicJwk, unknown>>;
  const alg = typeof loose.alg === 'string' && loose.alg !== '' ? loose.alg : undefined;
  const usable = loose.kty === 'EC' && (!loose.use || loose.use === 'sig') && !!loose.crv && !!loose.x && !!loose.y;
  let key: KeyObject | undefined;
  try {
    key = createPublicKey({ key: { ...jwk }, format: 'jwk' });
  } catch {
    key = undefined;
  }
  const curve = key?.asymmetricKeyDetails?.namedCurve;
  return {
    alg,
    usable,
    key: key ? { key, dsaEncoding: 'ieee-p1363' } : undefined,
    signatureBytes: (curve !== undefined ? SIGNATURE_BYTES[curve] : undefined) ?? 64,
  };
}

/**
 * A header (its base64url text) seen before, with everything decided from it alone: the key step's outcome and
 * the profile's header rules. Tokens of one key share their header, so this is parsed once per key.
 */
interface KnownHeader {
  readonly alg: string | undefined;
  /** Step 2 for this header: the key to check the signature with, or the reason the token is refused. */
  readonly key: { key: KeyObject; dsaEncoding: 'ieee-p1363' } | TokenRejection;
  readonly signatureBytes: number;
  /** The RFC 9068 header rules hold: alg ES256, a kid, typ at+jwt, no crit. */
  readonly profileOk: boolean;
}

export class AccessTokenVerifier {
  private readonly keys = new Map<string, TrustedKey>();
  private readonly headers = new Map<string, KnownHeader>();
  private lastHeader: { text: string; known: KnownHeader } | undefined;
  private readonly maxTokenLength: number;

  constructor(private readonly opts: VerifierOptions) {
    this.maxTokenLength = opts.maxTokenLength ?? 8192;
    // The key set is given up front: no network per request, and an unknown kid is simply rejected.
    // Keys are imported once, here; the first of several keys with one kid wins (as aws-jwt-verify's lookup).
    for (const jwk of opts.jwks.keys) {
      if (jwk.kid != null && !this.keys.has(jwk.kid)) this.keys.set(jwk.kid, trustedKey(jwk));
    }
  }

  /** Verifies `token` and returns its claims, or throws InvalidTokenError with the reason. */
  verify(token: string): AccessTokenClaims {
    if (typeof token !== 'string' || token.length === 0 || token.length > this.maxTokenLength) throw malformed();

    // 1. Structure (aws-jwt-verify: JwtParseError → malformed). The header is almost always the last one seen
    // (one per signing key): a prefix comparison finds it without slicing or hashing it.
    let dot1: number;
    let known: KnownHeader | undefined;
    const last = this.lastHeader;
    if (last !== undefined && token.charCodeAt(last.text.length) === 46 /* . */ && token.startsWith(last.text)) {
      dot1 = last.text.length;
      known = last.known;
    } else {
      dot1 = token.indexOf('.');
      known = dot1 > 0 ? this.headers.get(token.slice(0, dot1)) : undefined;
      if (known !== undefined) this.lastHeader = { text: token.slice(0, dot1), known };
    }
    if (known !== undefined) {
      REST_SHAPE.lastIndex = dot1 + 1;
      if (!REST_SHAPE.test(token)) throw malformed();
    } else {
      if (!JWS_SHAPE.test(token)) throw malformed();
      known = this.learnHeader(token.slice(0, dot1));
    }
    const dot2 = token.indexOf('.', dot1 + 1);
    const payload = parseJson(decodeBase64(token.slice(dot1 + 1, dot2)));
    if (!isJsonObject(payload) || !payloadShapeOk(payload)) throw malformed();

    // 2. Key: a kid is required, and must be one of ours; the header's alg must be the key's.
    const key = known.key;
    if (typeof key === 'string') throw new InvalidTokenError(key);

    // 3. Signature, over the exact bytes received.
    let valid: boolean;
    if (known.alg === 'ES256') {
      const sig = Buffer.from(token.slice(dot2 + 1), 'base64');
      if (sig.length !== known.signatureBytes) throw malformed();
      valid = cryptoVerify('sha256', Buffer.from(token.slice(0, dot2), 'latin1'), key, sig);
    } else {
      valid = otherAlgorithm(known.alg!, token.slice(0, dot2), token.slice(dot2 + 1), key);
    }
    if (!valid) throw new InvalidTokenError('bad_signature');

    // 4. aws-jwt-verify's claim checks: exp/nbf by the system clock, then iss, then aud.
    const { exp, nbf, iss, aud } = payload as { exp?: number; nbf?: number; iss?: string; aud?: string | string[] };
    const leeway = this.opts.leewaySeconds;
    const systemNow = Date.now() / 1000;
    if (exp !== undefined && exp + leeway < systemNow) throw new InvalidTokenError('expired');
    if (nbf !== undefined && nbf - leeway > systemNow) throw new InvalidTokenError('not_yet_valid');
    if (!iss || iss !== this.opts.issuer) throw new InvalidTokenError('bad_issuer');
    if (!aud || (typeof aud === 'string' ? aud !== this.opts.audience : !aud.includes(this.opts.audience))) {
      throw new InvalidTokenError('bad_audience');
    }

    // 5. The RFC 9068 profile and our clock.
    if (!known.profileOk) throw new InvalidTokenError('bad_header');
    this.checkClaims(payload);
    return payload as unknown as AccessTokenClaims;
  }


  /** Parses a header that passed the shape check, decides what depends on it alone, and remembers it. */
  private learnHeader(part: string): KnownHeader {
    const header = parseJson(decodeBase64(part));
    if (!isJsonObject(header)) throw malformed();
    const { alg, kid, typ, crit } = header;
    if ((alg !== undefined && typeof alg !== 'string') || (kid !== undefined && typeof kid !== 'string')) throw malformed();
    let key: KnownHeader['key'];
    let signatureBytes = 64;
    const trusted = typeof kid === 'string' ? this.keys.get(kid) : undefined;
    if (typeof kid !== 'string') key = 'bad_header';
    else if (trusted === undefined) key = 'unknown_kid';
    else if (!trusted.usable) key = 'malformed';
    else if (trusted.alg !== undefined ? alg !== trusted.alg : alg === undefined || !Object.hasOwn(DIGEST_OF, alg)) key = 'bad_header';
    else if (trusted.key === undefined) key = 'malformed';
    else {
      key = trusted.key;
      signatureBytes = trusted.signatureBytes;
    }
    const known: KnownHeader = {
      alg,
      key,
      signatureBytes,
      profileOk: alg === 'ES256' && isNonEmptyString(kid) && isAccessTokenTyp(typ) && crit === undefined,
    };
    if (this.headers.size >= MAX_KNOWN_HEADERS) this.headers.clear();
    this.headers.set(part, known);
    this.lastHeader = { text: part, known };
    return known;
  }

  /**
   * Runs after the signature has been verified: the RFC 9068 claims and the time checks by OUR clock
   * (step 4 checked exp/nbf by the system clock; both must pass).
   */
  private checkClaims(payload: Json): void {
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

/**
 * A JWK without `alg` lets aws-jwt-verify try the header's algorithm (any it supports) before the profile
 * check refuses everything but ES256: the outcome is `bad_signature`, or `malformed` where node:crypto throws.
 * Never reached with our key sets (every published key says ES256); kept so the verdicts stay identical.
 */
function otherAlgorithm(alg: string, input: string, signature: string, key: { key: KeyObject; dsaEncoding: 'ieee-p1363' }): boolean {
  try {
    const digest = DIGEST_OF[alg];
    return digest === null || digest === undefined
      ? cryptoVerify(null, Buffer.from(input), key.key, Buffer.from(signature, 'base64'))
      : createVerify(digest).update(input).verify(key, signature, 'base64');
  } catch {
    throw malformed();
  }
}

/** The verifier from its environment (TOKEN_ISSUER, TOKEN_AUDIENCE, JWKS_JSON, CLOCK_LEEWAY_SECONDS). */
export function verifierFromEnv(env: Env, clock: Clock = systemClock): AccessTokenVerifier {
  const t = tokenConfig(env);
  return new AccessTokenVerifier({ issuer: t.issuer, audience: t.audience, jwks: jwksSetting(env), leewaySeconds: t.clockLeewaySeconds, clock });
}
