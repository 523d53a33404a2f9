/**
 * Configuration, read and validated once per cold start. A missing or malformed value throws ConfigError
 * at init, never a silent default for something security-relevant (no `process.env.X || ""`).
 *
 * Environment variables (the CDK stack sets them; `npm start` sets them for local mode):
 * - TOKEN_ISSUER, TOKEN_AUDIENCE                   required by everything that issues or verifies tokens; the
 *                                                  issuer is an absolute http(s) URL
 * - ACCESS_LOG (on)                                local gateway's access log: on or off
 * - any whole-number setting: a negative value is refused with "must be ≥ <minimum>"
 * - JWKS_JSON                                      the public key set verifiers trust (active key first)
 * - ACCESS_TOKEN_TTL_SECONDS (900), REFRESH_TOKEN_TTL_SECONDS (2592000)
 * - REFRESH_REUSE_GRACE_SECONDS (0 = off)          a retried refresh within this window is not "reuse"
 * - CLOCK_LEEWAY_SECONDS (5)                       tolerated clock skew for iat/nbf/exp
 * - REVOCATION_CACHE_TTL_SECONDS (30), REVOCATION_CACHE_MAX_ENTRIES (10000)
 * - TABLE_NAME                                     the DynamoDB table
 * - DYNAMODB_ENDPOINT                              local mode (the embedded store, fixed local credentials); any
 *                                                  other endpoint through the SDK's own AWS_ENDPOINT_URL_DYNAMODB
 * - STORE_DEADLINE_MS (2000)                       total time one store call may take, retries included
 * - LOGIN_MAX_FAILURES (5), LOGIN_MAX_FAILURES_PER_USER (100), LOGIN_MAX_FAILURES_PER_ADDRESS (50),
 *   LOGIN_WINDOW_SECONDS (900)                    login throttling, see lambdas/core/throttle.ts
 * - REFRESH_COOKIE_PATH (unset = `/`)              cookie mode: unset or `/` → `__Host-tg_refresh; Path=/`;
 *                                                  any other path → `__Secure-tg_refresh` with that Path
 */
import { ConfigError } from './errors.js';
import type { Jwks, PublicJwk } from './ports.js';

export type Env = Readonly<Record<string, string | undefined>>;

export function requireString(env: Env, name: string): string {
  const v = env[name];
  if (v === undefined || v.trim() === '') throw new ConfigError(`${name} is required`);
  return v;
}

export function optionalString(env: Env, name: string): string | undefined {
  const v = env[name];
  return v === undefined || v.trim() === '' ? undefined : v;
}

export function intSetting(env: Env, name: string, fallback: number, min = 0, max = Number.MAX_SAFE_INTEGER): number {
  const raw = env[name];
  if (raw === undefined || raw.trim() === '') return fallback;
  const text = raw.trim();
  // A negative number is a number: say what is wrong with it, not that it isn't one.
  if (/^-\d+$/.test(text)) throw new ConfigError(`${name} must be ≥ ${min}${max < Number.MAX_SAFE_INTEGER ? ` (at most ${max})` : ''}, got ${text}`);
  if (!/^\d+$/.test(text)) throw new ConfigError(`${name} must be a whole number, got "${raw}"`);
  const n = Number(text);
  if (n < min || n > max) throw new ConfigError(`${name} must be between ${min} and ${max}, got ${n}`);
  return n;
}

export interface TokenConfig {
  issuer: string;
  audience: string;
  accessTokenTtlSeconds: number;
  clockLeewaySeconds: number;
}

/**
 * TOKEN_ISSUER: the `iss` of every token, an absolute http(s) URL (RFC 9068 §2.2 names the issuer by its URL;
 * the deployed default is `https://…`, local mode's `http://127.0.0.1:<port>`). Anything else would be signed
 * into tokens that no standard verifier accepts, so it is refused at init.
 */
export function issuerSetting(env: Env, name = 'TOKEN_ISSUER'): string {
  const issuer = requireString(env, name);
  let url: URL | undefined;
  try {
    url = new URL(issuer);
  } catch {
    url = undefined;
  }
  if (url === undefined || (url.protocol !== 'https:' && url.protocol !== 'http:') || url.host === '' || issuer.trim() !== issuer) {
    throw new ConfigError(`${name} must be an absolute http(s) URL such as https://auth.example.com, got "${issuer}"`);
  }
  return issuer;
}

/** ACCESS_LOG (local gateway): `on` (the default when unset) or `off`, any case; anything else is refused. */
export function accessLogSetting(env: Env, name = 'ACCESS_LOG'): boolean {
  const raw = optionalString(env, name)?.trim().toLowerCase();
  if (raw === undefined || raw === 'on') return true;
  if (raw === 'off') return false;
  throw new ConfigError(`${name} must be "on" or "off", got "${env[name]}"`);
}

export function tokenConfig(env: Env): TokenConfig {
  return {
    issuer: issuerSetting(env),
    audience: requireString(env, 'TOKEN_AUDIENCE'),
    accessTokenTtlSeconds: intSetting(env, 'ACCESS_TOKEN_TTL_SECONDS', 900, 1, 86_400),
    clockLeewaySeconds: intSetting(env, 'CLOCK_LEEWAY_SECONDS', 5, 0, 300),
  };
}

export interface SessionConfig {
  refreshTokenTtlSeconds: number;
  reuseGraceSeconds: number;
}

export function sessionConfig(env: Env): SessionConfig {
  return {
    refreshTokenTtlSeconds: intSetting(env, 'REFRESH_TOKEN_TTL_SECONDS', 2_592_000, 60, 31_536_000),
    reuseGraceSeconds: intSetting(env, 'REFRESH_REUSE_GRACE_SECONDS', 0, 0, 300),
  };
}

/** Name and Path of the refresh-token cookie (cookie mode). */
export interface RefreshCookieConfig {
  name: string;
  path: string;
}

const REFRESH_COOKIE_BASE = 'tg_refresh';

/**
 * The refresh cookie. By default `__Host-tg_refresh` with `Path=/`: the `__Host-` prefix makes browsers accept
 * the cookie only with `Secure`, `Path=/` and no `Domain`, set by this very host, so neither a sibling subdomain
 * nor a plain-http page can plant or overwrite it. `__Host-` requires `Path=/`, so a REFRESH_COOKIE_PATH other
 * than `/` (to keep the token off every non-auth request) gets `__Secure-tg_refresh` instead, which only
 * guarantees `Secure`: a cookie of that name planted with a `Domain` is then possible, and refused because the
 * request then carries two (see http/cookies.ts). The path is checked strictly: it is written into Set-Cookie.
 */
export function refreshCookieConfig(env: Env): RefreshCookieConfig {
  const path = optionalString(env, 'REFRESH_COOKIE_PATH')?.trim();
  if (path === undefined || path === '/') return { name: `__Host-${REFRESH_COOKIE_BASE}`, path: '/' };
  if (!/^\/[A-Za-z0-9_\-/.~]*$/.test(path)) {
    throw new ConfigError(`REFRESH_COOKIE_PATH must be a URL path starting with "/" (letters, digits, - _ . ~ /), got "${path}"`);
  }
  return { name: `__Secure-${REFRESH_COOKIE_BASE}`, path };
}

export interface RevocationConfig {
  cacheTtlSeconds: number;
  cacheMaxEntries: number;
}

export function revocationConfig(env: Env): RevocationConfig {
  return {
    cacheTtlSeconds: intSetting(env, 'REVOCATION_CACHE_TTL_SECONDS', 30, 0, 3600),
    cacheMaxEntries: intSetting(env, 'REVOCATION_CACHE_MAX_ENTRIES', 10_000, 1, 1_000_000),
  };
}

export interface ThrottleConfig {
  /** Failed logins per (username, client address) per window; then that pair is locked until the window ends. */
  maxFailures: number;
  /** Failed logins per username from all addresses per window: the ceiling that bounds distributed guessing. */
  maxFailuresPerUser: number;
  /** Failed logins per client address across all usernames per window (password spraying). */
  maxFailuresPerAddress: number;
  /** Length of the fixed window: no lock lasts longer, and failures are forgotten when it ends. */
  windowSeconds: number;
}

export function throttleConfig(env: Env): ThrottleConfig {
  const maxFailures = intSetting(env, 'LOGIN_MAX_FAILURES', 5, 1, 1000);
  const cfg: ThrottleConfig = {
    maxFailures,
    maxFailuresPerUser: intSetting(env, 'LOGIN_MAX_FAILURES_PER_USER', 100, 1, 10_000),
    maxFailuresPerAddress: intSetting(env, 'LOGIN_MAX_FAILURES_PER_ADDRESS', 50, 1, 10_000),
    windowSeconds: intSetting(env, 'LOGIN_WINDOW_SECONDS', 900, 60, 86_400),
  };
  // A wider limit below the per-pair one would make LOGIN_MAX_FAILURES meaningless (and lock real users first).
  if (cfg.maxFailuresPerUser < maxFailures) throw new ConfigError('LOGIN_MAX_FAILURES_PER_USER must be at least LOGIN_MAX_FAILURES');
  if (cfg.maxFailuresPerAddress < maxFailures) throw new ConfigError('LOGIN_MAX_FAILURES_PER_ADDRESS must be at least LOGIN_MAX_FAILURES');
  return cfg;
}

export interface StoreConfig {
  tableName: string;
  /** The embedded store (DYNAMODB_ENDPOINT); absent: the SDK resolves the endpoint (AWS_ENDPOINT_URL_DYNAMODB, regional). */
  endpoint?: string;
  region: string;
  /** Total time one store call may take, retries and backoff included (STORE_DEADLINE_MS). */
  deadlineMs: number;
}

/**
 * 2 s: inside the shortest timeout of a function that reads the store (the authorizer's 3 s, lib/tokengate.ts)
 * with a second left to answer, so a store that hangs or trickles ends as our fail-closed error, never as a
 * Lambda timeout. Login (10 s) makes a few sequential calls, each bounded by this.
 */
export const DEFAULT_STORE_DEADLINE_MS = 2000;

export function storeConfig(env: Env): StoreConfig {
  const endpoint = optionalString(env, 'DYNAMODB_ENDPOINT');
  return {
    tableName: requireString(env, 'TABLE_NAME'),
    region: optionalString(env, 'AWS_REGION') ?? optionalString(env, 'AWS_DEFAULT_REGION') ?? (endpoint ? 'local' : requireString(env, 'AWS_REGION')),
    ...(endpoint ? { endpoint } : {}),
    deadlineMs: intSetting(env, 'STORE_DEADLINE_MS', DEFAULT_STORE_DEADLINE_MS, 50, 60_000),
  };
}

/** Parses and validates JWKS_JSON: public P-256 keys only, each with a kid. */
export function jwksSetting(env: Env, name = 'JWKS_JSON'): Jwks {
  const raw = requireString(env, name);
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch (cause) {
    throw new ConfigError(`${name} is not JSON`, { cause });
  }
  const keys = (parsed as { keys?: unknown })?.keys;
  if (!Array.isArray(keys) || keys.length === 0) throw new ConfigError(`${name} must have a non-empty "keys" array`);
  return {
    keys: keys.map((k: unknown, i): PublicJwk => {
      const j = k as Record<string, unknown>;
      const ok =
        j !== null && typeof j === 'object' &&
        j.kty === 'EC' && j.crv === 'P-256' && typeof j.x === 'string' && typeof j.y === 'string' &&
        typeof j.kid === 'string' && j.kid !== '' && !('d' in j);
      if (!ok) throw new ConfigError(`${name}.keys[${i}] must be a public EC P-256 key with a kid`);
      return { kty: 'EC', crv: 'P-256', x: j.x as string, y: j.y as string, kid: j.kid as string, alg: 'ES256', use: 'sig' };
    }),
  };
}
