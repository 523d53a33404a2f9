/**
 * Verifying tokengate's access tokens in a service itself: a service another service calls without the gateway,
 * or one that runs outside Lambda. aws-jwt-verify's `JwtVerifier` against the deployment's JWKS URL, with the
 * same RFC 9068 profile as the authorizer (lambdas/core/access-token-profile.ts: the same customJwtCheck, the
 * same spelling check, the same reasons; not a copy).
 *
 * - Keys: the JWKS is fetched on first use (or `hydrate()`) and cached in memory: no network per request. A token
 *   whose `kid` is not in the cached set (a key rotation) makes aws-jwt-verify refetch the set once; its penalty
 *   box (SimplePenaltyBox) then refuses any further refetch for `refetchWaitSeconds`, so forged kids cannot turn
 *   into a flood of requests to the JWKS URL. Concurrent fetches are shared (single flight).
 * - The URL must be https, except on the loopback interface (127.0.0.1, ::1, localhost) where `npm start`
 *   serves http.
 * - Fails closed: a JWKS that cannot be fetched or is not a key set is JwksUnavailableError (a
 *   DependencyUnavailableError: answer 503), never an accepted token.
 *
 * What it cannot see: revocation. The authorizer also checks that the token's session is live; a service that
 * verifies the token itself accepts a token of a revoked session (logout, refresh-token reuse, a disabled
 * user) until the token's `exp`: at most the access-token lifetime (ACCESS_TOKEN_TTL_SECONDS, 15 minutes by
 * default) plus the leeway (5 s).
 */
import { WaitPeriodNotYetEndedJwkError } from 'aws-jwt-verify/error';
import type { Fetcher } from 'aws-jwt-verify/https';
import { assertIsJwks, type Jwks, SimpleJwksCache, SimplePenaltyBox } from 'aws-jwt-verify/jwk';
import { JwtVerifier } from 'aws-jwt-verify/jwt-verifier';
import { safeJsonParse } from 'aws-jwt-verify/safe-json-parse';
import {
  type AccessTokenClaims,
  assertTokenShape,
  MAX_ACCESS_TOKEN_LENGTH,
  profileCheck,
  rejectionOf,
} from '../lambdas/core/access-token-profile.js';
import { DependencyUnavailableError, InvalidTokenError } from '../lambdas/core/errors.js';
import { type Caller, CALLER_LEEWAY_SECONDS, callerFromClaims } from './caller.js';

export type { AccessTokenClaims } from '../lambdas/core/access-token-profile.js';
export { InvalidTokenError } from '../lambdas/core/errors.js';

/** The deployment's JWKS could not be fetched or is not a key set. Fail closed: 503. */
export class JwksUnavailableError extends DependencyUnavailableError {}

export interface TokenVerifierOptions {
  /** The deployment's JWKS URL: `<api url>/.well-known/jwks.json`. */
  jwksUrl: string;
  /** `iss` of the deployment's tokens (TOKEN_ISSUER). */
  issuer: string;
  /** `aud` of the deployment's tokens (TOKEN_AUDIENCE). */
  audience: string;
  /** Tolerated clock skew for exp/iat/nbf. @default 5 */
  leewaySeconds?: number;
  /** The clock for the profile's time checks (milliseconds since the epoch). @default Date.now */
  clock?: { now(): number };
  /** After a refetch for an unknown kid, no further refetch for this long (aws-jwt-verify's penalty box). @default 10 */
  refetchWaitSeconds?: number;
  /** Time for one JWKS request. @default 3000 */
  fetchTimeoutMs?: number;
}

export interface TokenVerifier {
  /** The claims of a valid token; InvalidTokenError (with `reason`) or JwksUnavailableError otherwise. */
  verify(token: string): Promise<AccessTokenClaims>;
  /** The caller of a valid token (verify, then callerFromClaims). */
  verifyCaller(token: string): Promise<Caller>;
  /** Fetches the JWKS now (e.g. at start-up), so the first request does not wait for it. */
  hydrate(): Promise<void>;
}

const MAX_JWKS_BYTES = 64 * 1024;
const LOOPBACK = new Set(['127.0.0.1', 'localhost', '[::1]']);

function checkedJwksUrl(value: string): URL {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new TypeError(`jwksUrl is not a URL: ${value}`);
  }
  if (url.protocol === 'https:') return url;
  if (url.protocol === 'http:' && LOOPBACK.has(url.hostname)) return url;
  throw new TypeError(`jwksUrl must be https (http only on the loopback interface): ${url.origin}`);
}

/**
 * aws-jwt-verify's Fetcher over Node's fetch: aws-jwt-verify's own fetcher speaks https only, and `npm start`
 * serves the JWKS over http on 127.0.0.1. Any failure (network, time-out, status, size) is JwksUnavailableError.
 */
function jwksFetcher(timeoutMs: number): Fetcher {
  return {
    fetch: async (uri) => {
      let res: Response;
      try {
        res = await fetch(uri, { signal: AbortSignal.timeout(timeoutMs), redirect: 'error', headers: { accept: 'application/json' } });
      } catch (err) {
        throw new JwksUnavailableError(`JWKS request failed: ${(err as Error)?.name ?? 'error'}`, { cause: err });
      }
      if (res.status !== 200) {
        await res.body?.cancel();
        throw new JwksUnavailableError(`JWKS answered ${res.status}`);
      }
      const body = await res.arrayBuffer().catch((err: unknown) => {
        throw new JwksUnavailableError('JWKS body could not be read', { cause: err });
      });
      if (body.byteLength > MAX_JWKS_BYTES) throw new JwksUnavailableError(`JWKS larger than ${MAX_JWKS_BYTES} bytes`);
      return body;
    },
  };
}

/** aws-jwt-verify's JWKS checks (safe JSON parsing, assertIsJwks); a set that fails them is JwksUnavailableError. */
function parseJwks(bytes: ArrayBuffer): Jwks {
  try {
    const jwks = safeJsonParse(new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(bytes));
    assertIsJwks(jwks);
    return jwks;
  } catch (err) {
    throw new JwksUnavailableError('JWKS is not a key set', { cause: err });
  }
}

/** A verifier of the deployment's access tokens; see the module comment for what it checks and what it cannot. */
export function createTokenVerifier(opts: TokenVerifierOptions): TokenVerifier {
  const jwksUri = checkedJwksUrl(opts.jwksUrl).href;
  const leewaySeconds = opts.leewaySeconds ?? CALLER_LEEWAY_SECONDS;
  const clock = opts.clock ?? { now: () => Date.now() };
  const jwksCache = new SimpleJwksCache({
    fetcher: jwksFetcher(opts.fetchTimeoutMs ?? 3000),
    jwksParser: parseJwks,
    penaltyBox: new SimplePenaltyBox({ waitSeconds: opts.refetchWaitSeconds ?? 10 }),
  });
  const verifier = JwtVerifier.create(
    {
      issuer: opts.issuer,
      audience: opts.audience,
      jwksUri,
      graceSeconds: leewaySeconds,
      customJwtCheck: profileCheck({ leewaySeconds, clock }),
    },
    { jwksCache },
  );

  const verify = async (token: string): Promise<AccessTokenClaims> => {
    assertTokenShape(token, MAX_ACCESS_TOKEN_LENGTH);
    try {
      return (await verifier.verify(token)) as unknown as AccessTokenClaims;
    } catch (err) {
      if (err instanceof JwksUnavailableError) throw err;
      if (err instanceof InvalidTokenError) throw err;
      // The penalty box's refusal is an unknown kid, as when the refetched set did not have it either.
      if (err instanceof WaitPeriodNotYetEndedJwkError) throw new InvalidTokenError('unknown_kid', { cause: err });
      throw new InvalidTokenError(rejectionOf(err), { cause: err });
    }
  };

  return {
    verify,
    verifyCaller: async (token) => callerFromClaims(await verify(token)),
    hydrate: async () => {
      await verifier.hydrate();
    },
  };
}
