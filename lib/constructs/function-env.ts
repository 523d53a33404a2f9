/**
 * The environment contract between the construct and tokengate's handlers, in one place: every variable name, and which
 * function receives which. lambdas/core/config.ts reads the same names.
 */
import type { TokengateFunctionName } from '../routes.js';

/** Every function tokengate deploys for the API: its own route handlers plus the token authorizer. */
export type ApiFunctionName = TokengateFunctionName | 'authorizer';

export const ENV = {
  TABLE_NAME: 'TABLE_NAME',
  TOKEN_ISSUER: 'TOKEN_ISSUER',
  TOKEN_AUDIENCE: 'TOKEN_AUDIENCE',
  /** Public key set (active key first), computed at deploy time from KMS by the JWKS publisher. */
  JWKS_JSON: 'JWKS_JSON',
  /** `kms` in the cloud (local mode uses a key file). */
  SIGNER: 'SIGNER',
  /** ARN of the active signing key. */
  KMS_KEY_ID: 'KMS_KEY_ID',
  ACCESS_TOKEN_TTL_SECONDS: 'ACCESS_TOKEN_TTL_SECONDS',
  REFRESH_TOKEN_TTL_SECONDS: 'REFRESH_TOKEN_TTL_SECONDS',
  REFRESH_REUSE_GRACE_SECONDS: 'REFRESH_REUSE_GRACE_SECONDS',
  REVOCATION_CACHE_TTL_SECONDS: 'REVOCATION_CACHE_TTL_SECONDS',
  CLOCK_LEEWAY_SECONDS: 'CLOCK_LEEWAY_SECONDS',
  /** Path of the HttpOnly refresh-token cookie: the stage prefix matters (`/prod/auth`). */
  REFRESH_COOKIE_PATH: 'REFRESH_COOKIE_PATH',
  /** Comma-separated allowed browser origins, for the CORS headers of proxied responses (absent: no CORS). */
  CORS_ALLOW_ORIGINS: 'CORS_ALLOW_ORIGINS',
  NODE_OPTIONS: 'NODE_OPTIONS',
  POWERTOOLS_SERVICE_NAME: 'POWERTOOLS_SERVICE_NAME',
  POWERTOOLS_METRICS_NAMESPACE: 'POWERTOOLS_METRICS_NAMESPACE',
} as const;

export type EnvName = (typeof ENV)[keyof typeof ENV];

/** Application settings every API function reads. */
const COMMON = [ENV.TABLE_NAME, ENV.TOKEN_ISSUER, ENV.TOKEN_AUDIENCE, ENV.JWKS_JSON] as const;
/**
 * Functions built on the session service (login, refresh, logout). The service is composed with its signer
 * and session settings even in logout, which never signs: logout gets the names but no kms:Sign.
 */
const SESSIONS = [
  ...COMMON, ENV.SIGNER, ENV.KMS_KEY_ID, ENV.ACCESS_TOKEN_TTL_SECONDS, ENV.REFRESH_TOKEN_TTL_SECONDS,
  ENV.REFRESH_REUSE_GRACE_SECONDS, ENV.REFRESH_COOKIE_PATH,
] as const;

/** Which application settings each function receives (runtime settings such as NODE_OPTIONS go to all). */
export const FUNCTION_ENV: Readonly<Record<ApiFunctionName, readonly EnvName[]>> = {
  authorizer: [...COMMON, ENV.REVOCATION_CACHE_TTL_SECONDS, ENV.CLOCK_LEEWAY_SECONDS],
  login: SESSIONS,
  refresh: SESSIONS,
  logout: [...SESSIONS, ENV.CLOCK_LEEWAY_SECONDS],
  jwks: COMMON,
};

/** Browser-facing functions also get CORS_ALLOW_ORIGINS when origins are configured. */
export const CORS_AWARE: readonly ApiFunctionName[] = ['login', 'refresh', 'logout', 'jwks'];

/** Picks `names` out of `values`; a name without a value is a bug in the stack, so it throws. */
export function pickEnv(names: readonly EnvName[], values: Partial<Record<EnvName, string>>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const name of names) {
    const v = values[name];
    if (v === undefined) throw new Error(`no value for environment variable ${name}`);
    out[name] = v;
  }
  return out;
}
