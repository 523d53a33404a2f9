/**
 * HttpOnly refresh-token cookie (browser clients). Opted into per request with `X-Token-Delivery: cookie`.
 * That custom header is also the CSRF guard for cookie-authenticated calls: a cross-site form cannot send
 * it, and a cross-origin script cannot either unless our CORS configuration allows that origin.
 *
 * Name and Path come from `refreshCookieConfig` (core/config.ts): `__Host-tg_refresh; Path=/` by default,
 * `__Secure-tg_refresh` with REFRESH_COOKIE_PATH. A request that carries the refresh cookie more than once is
 * refused (400): a browser sends every matching cookie (e.g. one planted by a sibling subdomain with `Domain`
 * next to ours), and whichever comes first depends on path length and age, never on which one is genuine.
 */
import type { APIGatewayProxyEvent } from 'aws-lambda';
import { type RefreshCookieConfig, refreshCookieConfig } from '../core/config.js';
import { InvalidRequestError } from '../core/errors.js';
import { header } from './request.js';

export const DELIVERY_HEADER = 'X-Token-Delivery';

/** `__Host-tg_refresh; Path=/`: what a handler uses when it is not told otherwise. */
export const DEFAULT_REFRESH_COOKIE: RefreshCookieConfig = refreshCookieConfig({});

export const wantsCookieDelivery = (event: Pick<APIGatewayProxyEvent, 'headers'>): boolean =>
  (header(event, DELIVERY_HEADER) ?? '').trim().toLowerCase() === 'cookie';

/**
 * Every Cookie header of the request. API Gateway (REST, proxy) puts all of them in `multiValueHeaders` and
 * the last one again in `headers`, so `headers` is only read when `multiValueHeaders` has none (a hand-made
 * event); any spelling of the header name counts.
 */
function cookieHeaders(event: Pick<APIGatewayProxyEvent, 'headers' | 'multiValueHeaders'>): string[] {
  const out: string[] = [];
  const multi = event.multiValueHeaders ?? {};
  for (const name in multi) if (name.toLowerCase() === 'cookie') out.push(...(multi[name] ?? []));
  if (out.length > 0) return out;
  const single = event.headers ?? {};
  for (const name in single) {
    const value = single[name];
    if (name.toLowerCase() === 'cookie' && value !== undefined) out.push(value);
  }
  return out;
}

/**
 * The refresh cookie's value, or undefined when there is none. InvalidRequestError (400) when the request
 * carries it more than once, in one Cookie header or across several, whatever the values.
 */
export function readRefreshCookie(
  event: Pick<APIGatewayProxyEvent, 'headers' | 'multiValueHeaders'>,
  cookie: RefreshCookieConfig = DEFAULT_REFRESH_COOKIE,
): string | undefined {
  let found: string | undefined;
  let count = 0;
  for (const value of cookieHeaders(event)) {
    for (const part of value.split(';')) {
      const eq = part.indexOf('=');
      if (eq > 0 && part.slice(0, eq).trim() === cookie.name) {
        count++;
        found = part.slice(eq + 1).trim();
      }
    }
  }
  if (count > 1) throw new InvalidRequestError(`the request carries the ${cookie.name} cookie ${count} times`);
  return found;
}

export const refreshCookie = (token: string, maxAgeSeconds: number, cookie: RefreshCookieConfig = DEFAULT_REFRESH_COOKIE): string =>
  `${cookie.name}=${token}; HttpOnly; Secure; SameSite=Strict; Path=${cookie.path}; Max-Age=${maxAgeSeconds}`;

export const clearRefreshCookie = (cookie: RefreshCookieConfig = DEFAULT_REFRESH_COOKIE): string =>
  `${cookie.name}=; HttpOnly; Secure; SameSite=Strict; Path=${cookie.path}; Max-Age=0`;
