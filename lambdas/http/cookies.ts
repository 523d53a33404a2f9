/**
 * HttpOnly refresh-token cookie (browser clients). Opted into per request with `X-Token-Delivery: cookie`.
 * That custom header is also the CSRF guard for cookie-authenticated calls: a cross-site form cannot send
 * it, and a cross-origin script cannot either unless our CORS configuration allows that origin.
 */
import type { APIGatewayProxyEvent } from 'aws-lambda';
import { header } from './request.js';

export const REFRESH_COOKIE = 'tg_refresh';
export const DELIVERY_HEADER = 'X-Token-Delivery';

export const wantsCookieDelivery = (event: Pick<APIGatewayProxyEvent, 'headers'>): boolean =>
  (header(event, DELIVERY_HEADER) ?? '').trim().toLowerCase() === 'cookie';

export function readCookie(event: Pick<APIGatewayProxyEvent, 'headers' | 'multiValueHeaders'>, name: string): string | undefined {
  const values = [header(event, 'cookie') ?? '', ...(event.multiValueHeaders?.Cookie ?? event.multiValueHeaders?.cookie ?? [])];
  for (const value of values) {
    for (const part of value.split(';')) {
      const eq = part.indexOf('=');
      if (eq > 0 && part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
    }
  }
  return undefined;
}

/**
 * The cookie's Path: `/auth` where the API is served at the root (npm start, a custom domain); the deployed
 * stage URL has the stage in front (`/prod/auth`), so the stack sets REFRESH_COOKIE_PATH accordingly.
 */
export const DEFAULT_COOKIE_PATH = '/auth';

export const refreshCookie = (token: string, maxAgeSeconds: number, path = DEFAULT_COOKIE_PATH): string =>
  `${REFRESH_COOKIE}=${token}; HttpOnly; Secure; SameSite=Strict; Path=${path}; Max-Age=${maxAgeSeconds}`;

export const clearRefreshCookie = (path = DEFAULT_COOKIE_PATH): string =>
  `${REFRESH_COOKIE}=; HttpOnly; Secure; SameSite=Strict; Path=${path}; Max-Age=0`;
