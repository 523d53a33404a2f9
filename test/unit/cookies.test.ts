/**
 * The refresh cookie (issue 9, item 6): `__Host-tg_refresh` with `Path=/` by default; with REFRESH_COOKIE_PATH
 * set to anything but `/`, `__Secure-tg_refresh` with that path. A request carrying the refresh cookie more
 * than once (in one Cookie header, in several, in any spelling of the header name) is refused with 400, never
 * resolved by order; the unprefixed legacy name `tg_refresh` is not read at all.
 */
import { describe, test } from '@jest/globals';
import assert from 'node:assert/strict';
import type { APIGatewayProxyEvent } from 'aws-lambda';
import { refreshCookieConfig } from '../../lambdas/core/config.js';
import { ConfigError, InvalidRequestError } from '../../lambdas/core/errors.js';
import { clearRefreshCookie, readRefreshCookie, refreshCookie } from '../../lambdas/http/cookies.js';
import { ForbiddenRequestError } from '../../lambdas/http/responses.js';
import { presentedRefreshToken } from '../../lambdas/refresh/app.js';

const HOST = refreshCookieConfig({});
const T1 = `rt_${'a'.repeat(43)}`;
const T2 = `rt_${'b'.repeat(43)}`;

type CookieEvent = Pick<APIGatewayProxyEvent, 'headers' | 'multiValueHeaders'>;
const ev = (headers: Record<string, string>, multi: Record<string, string[]> = {}): CookieEvent => ({
  headers,
  multiValueHeaders: multi,
});
/** What API Gateway (REST, proxy) hands over for the given Cookie headers: the last in `headers`, all in `multiValueHeaders`. */
const gatewayEvent = (...cookieHeaders: string[]): CookieEvent =>
  ev({ Cookie: cookieHeaders[cookieHeaders.length - 1]!, 'X-Token-Delivery': 'cookie' }, { Cookie: cookieHeaders, 'X-Token-Delivery': ['cookie'] });

describe('refresh cookie settings', () => {
  test('default: __Host- prefix, Path=/ (no Domain)', () => {
    assert.deepEqual(HOST, { name: '__Host-tg_refresh', path: '/' });
    assert.deepEqual(refreshCookieConfig({ REFRESH_COOKIE_PATH: '/' }), HOST);
    assert.deepEqual(refreshCookieConfig({ REFRESH_COOKIE_PATH: '' }), HOST);
  });

  test('a path other than / cannot carry __Host-: __Secure- with that path', () => {
    assert.deepEqual(refreshCookieConfig({ REFRESH_COOKIE_PATH: '/prod/auth' }), { name: '__Secure-tg_refresh', path: '/prod/auth' });
    assert.deepEqual(refreshCookieConfig({ REFRESH_COOKIE_PATH: '/auth' }), { name: '__Secure-tg_refresh', path: '/auth' });
  });

  test('a path that could inject cookie attributes or is not a path is a ConfigError', () => {
    for (const bad of ['auth', '/auth; Domain=evil.example', '/a b', '/a\r\nSet-Cookie: x=y', '/a,b']) {
      assert.throws(() => refreshCookieConfig({ REFRESH_COOKIE_PATH: bad }), ConfigError, JSON.stringify(bad));
    }
  });

  test('Set-Cookie: HttpOnly, Secure, SameSite=Strict, the path, no Domain; clearing uses the same name and path', () => {
    assert.equal(refreshCookie(T1, 60, HOST), `__Host-tg_refresh=${T1}; HttpOnly; Secure; SameSite=Strict; Path=/; Max-Age=60`);
    assert.equal(clearRefreshCookie(HOST), '__Host-tg_refresh=; HttpOnly; Secure; SameSite=Strict; Path=/; Max-Age=0');
    const scoped = refreshCookieConfig({ REFRESH_COOKIE_PATH: '/prod/auth' });
    assert.equal(refreshCookie(T1, 60, scoped), `__Secure-tg_refresh=${T1}; HttpOnly; Secure; SameSite=Strict; Path=/prod/auth; Max-Age=60`);
    assert.equal(clearRefreshCookie(scoped), '__Secure-tg_refresh=; HttpOnly; Secure; SameSite=Strict; Path=/prod/auth; Max-Age=0');
  });
});

describe('reading the refresh cookie', () => {
  test('one cookie: found, wherever the gateway put it (headers and multiValueHeaders hold the same header)', () => {
    assert.equal(readRefreshCookie(gatewayEvent(`a=1; __Host-tg_refresh=${T1}; b=2`), HOST), T1);
    assert.equal(readRefreshCookie(ev({ cookie: `__Host-tg_refresh=${T1}` }), HOST), T1);
    assert.equal(readRefreshCookie(ev({}, { cookie: [`__Host-tg_refresh=${T1}`] }), HOST), T1);
    assert.equal(readRefreshCookie(gatewayEvent('a=1', `__Host-tg_refresh=${T1}`), HOST), T1, 'in the first of two Cookie headers');
    assert.equal(readRefreshCookie(gatewayEvent(`__Host-tg_refresh=${T1}`, 'a=1'), HOST), T1, 'in the first of two Cookie headers');
    assert.equal(readRefreshCookie(ev({}), HOST), undefined);
    assert.equal(readRefreshCookie({ headers: {}, multiValueHeaders: undefined as unknown as Record<string, string[]> }, HOST), undefined);
  });

  test('two refresh cookies in one header → 400 invalid_request, whatever their values', () => {
    for (const header of [
      `__Host-tg_refresh=${T1}; __Host-tg_refresh=${T2}`,
      `__Host-tg_refresh=${T1}; __Host-tg_refresh=${T1}`,
      `__Host-tg_refresh=${T1};__Host-tg_refresh=`,
      ` __Host-tg_refresh = ${T1} ; x=1; __Host-tg_refresh=${T2}`,
    ]) {
      const err = captured(() => readRefreshCookie(gatewayEvent(header), HOST));
      assert.ok(err instanceof InvalidRequestError && !(err instanceof ForbiddenRequestError), `${header}: ${String(err)}`);
    }
  });

  test('one refresh cookie in each of two Cookie headers → 400', () => {
    assert.throws(() => readRefreshCookie(gatewayEvent(`__Host-tg_refresh=${T1}`, `__Host-tg_refresh=${T2}`), HOST), InvalidRequestError);
    // Two spellings of the header name, without multiValueHeaders (a hand-made event).
    assert.throws(() => readRefreshCookie(ev({ Cookie: `__Host-tg_refresh=${T1}`, cookie: `__Host-tg_refresh=${T2}` }), HOST), InvalidRequestError);
    assert.throws(
      () => readRefreshCookie(ev({}, { Cookie: [`__Host-tg_refresh=${T1}`], cookie: [`__Host-tg_refresh=${T2}`] }), HOST),
      InvalidRequestError,
    );
  });

  test('the legacy unprefixed name is not read: neither alone nor in front of the real cookie', () => {
    assert.equal(readRefreshCookie(gatewayEvent(`tg_refresh=${T1}`), HOST), undefined);
    assert.equal(readRefreshCookie(gatewayEvent(`tg_refresh=${T2}; __Host-tg_refresh=${T1}`), HOST), T1);
    assert.equal(readRefreshCookie(gatewayEvent(`__host-tg_refresh=${T2}; __Host-tg_refresh=${T1}`), HOST), T1, 'names are case-sensitive');
  });

  test('with a path setting the __Secure- name is the one read, and counted', () => {
    const scoped = refreshCookieConfig({ REFRESH_COOKIE_PATH: '/prod/auth' });
    assert.equal(readRefreshCookie(gatewayEvent(`__Secure-tg_refresh=${T1}`), scoped), T1);
    assert.throws(() => readRefreshCookie(gatewayEvent(`__Secure-tg_refresh=${T1}; __Secure-tg_refresh=${T2}`), scoped), InvalidRequestError);
  });

  test('the handlers refuse a duplicated cookie with 400 (not 403), and take a body token without looking at cookies', () => {
    const event = { ...gatewayEvent(`__Host-tg_refresh=${T1}; __Host-tg_refresh=${T2}`), body: null, isBase64Encoded: false };
    const err = captured(() => presentedRefreshToken(event as APIGatewayProxyEvent, {}, HOST));
    assert.ok(err instanceof InvalidRequestError && !(err instanceof ForbiddenRequestError), String(err));
    assert.equal(presentedRefreshToken(event as APIGatewayProxyEvent, { refresh_token: T1 }, HOST), T1);
    // Without the CSRF header a single cookie is still 403.
    const noHeader = { headers: { Cookie: `__Host-tg_refresh=${T1}` }, multiValueHeaders: { Cookie: [`__Host-tg_refresh=${T1}`] } };
    assert.throws(() => presentedRefreshToken(noHeader as unknown as APIGatewayProxyEvent, {}, HOST), ForbiddenRequestError);
  });
});

function captured(fn: () => unknown): unknown {
  try {
    fn();
  } catch (err) {
    return err;
  }
  return undefined;
}
