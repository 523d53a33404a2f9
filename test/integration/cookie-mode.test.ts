/**
 * Cookie delivery of the refresh token (browser clients), end to end: `X-Token-Delivery: cookie` moves the
 * refresh token out of the body into an HttpOnly cookie scoped to /auth; the same header is the CSRF guard
 * for every cookie-authenticated call, and a refused call leaves the token unspent.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { hashRefreshToken } from '../../lambdas/core/refresh-token.js';
import { bearer, DEMO, jwtPayload, ordersStatus, post, startTestStack, type Reply, type TestStack } from '../helpers/local.js';

const COOKIE_MODE = { 'x-token-delivery': 'cookie' };
const REFRESH_TTL_SECONDS = 2_592_000;
const COOKIE_SHAPE = /^tg_refresh=(rt_[A-Za-z0-9_-]{43}); HttpOnly; Secure; SameSite=Strict; Path=\/auth; Max-Age=(\d+)$/;

/** The single tg_refresh Set-Cookie of a response, checked for every attribute. */
function refreshCookie(r: Reply): { token: string; maxAge: number } {
  const cookies = r.headers.getSetCookie();
  assert.equal(cookies.length, 1, `Set-Cookie: ${JSON.stringify(cookies)}`);
  const m = COOKIE_SHAPE.exec(cookies[0]!);
  assert.ok(m, `unexpected Set-Cookie: ${cookies[0]}`);
  return { token: m[1]!, maxAge: Number(m[2]) };
}

describe('cookie mode', () => {
  /** A cookie-mode logout (bearer + cookie + the CSRF header): 204 and the cookie cleared. */
  async function cookieLogout(accessToken: string, refreshToken: string): Promise<void> {
    const out = await post(h, '/auth/logout', undefined, { ...COOKIE_MODE, ...bearer(accessToken), cookie: `tg_refresh=${refreshToken}` });
    assert.equal(out.status, 204, out.text);
    assert.deepEqual(out.headers.getSetCookie(), ['tg_refresh=; HttpOnly; Secure; SameSite=Strict; Path=/auth; Max-Age=0']);
  }

  let h: TestStack;
  before(async () => {
    h = await startTestStack({ AUTHORIZER_CACHE_TTL_SECONDS: '0', REVOCATION_CACHE_TTL_SECONDS: '0' });
  });
  after(() => h?.close());

  const cookieLogin = async () => {
    const r = await post(h, '/auth/login', { username: DEMO.alice.username, password: DEMO.alice.password }, COOKIE_MODE);
    assert.equal(r.status, 200, r.text);
    return { reply: r, cookie: refreshCookie(r) };
  };

  test('login with X-Token-Delivery: cookie puts the refresh token in an HttpOnly cookie, not in the body', async () => {
    const { reply, cookie } = await cookieLogin();
    assert.equal(reply.json.refresh_token, undefined, 'no refresh_token in the body');
    assert.deepEqual(Object.keys(reply.json).sort(), ['access_token', 'expires_in', 'token_type']);
    assert.equal(reply.json.token_type, 'Bearer');
    assert.equal(reply.headers.get('cache-control'), 'no-store');
    assert.ok(cookie.maxAge > REFRESH_TTL_SECONDS - 5 && cookie.maxAge <= REFRESH_TTL_SECONDS, `Max-Age=${cookie.maxAge}`);
    assert.equal(await ordersStatus(h, reply.json.access_token), 200);
  });

  test('refresh with the cookie and the header rotates the cookie', async () => {
    const { reply: first, cookie } = await cookieLogin();
    const r = await post(h, '/auth/refresh', undefined, { ...COOKIE_MODE, cookie: `tg_refresh=${cookie.token}` });
    assert.equal(r.status, 200, r.text);
    assert.equal(r.json.refresh_token, undefined);
    const rotated = refreshCookie(r);
    assert.notEqual(rotated.token, cookie.token);
    assert.ok(rotated.maxAge <= cookie.maxAge, 'rotation does not extend the session');
    assert.equal(jwtPayload(r.json.access_token).sid, jwtPayload(first.json.access_token).sid);
    assert.equal(await ordersStatus(h, r.json.access_token), 200);

    // The old cookie is spent now.
    const replay = await post(h, '/auth/refresh', undefined, { ...COOKIE_MODE, cookie: `tg_refresh=${cookie.token}` });
    assert.equal(replay.status, 401);
    assert.deepEqual(replay.json, { error: 'invalid_grant' });
  });

  test('refresh with the cookie but without the header is 403 (CSRF guard) and does not spend the token', async () => {
    const { cookie } = await cookieLogin();
    const forged = await post(h, '/auth/refresh', undefined, { cookie: `other=1; tg_refresh=${cookie.token}` });
    assert.equal(forged.status, 403, forged.text);
    assert.equal(forged.json.error, 'invalid_request');
    assert.deepEqual(forged.headers.getSetCookie(), []);
    assert.equal(forged.json.access_token, undefined);

    const record = await h.sessions.getRefreshToken(hashRefreshToken(cookie.token));
    assert.ok(record, 'token record exists');
    assert.equal(record.usedAt, undefined, 'the refused request did not spend the token');

    const r = await post(h, '/auth/refresh', undefined, { ...COOKIE_MODE, cookie: `tg_refresh=${cookie.token}` });
    assert.equal(r.status, 200, `a proper cookie refresh afterwards still works: ${r.text}`);
    refreshCookie(r);
    assert.equal(await ordersStatus(h, r.json.access_token), 200);
  });

  test('logout in cookie mode clears the cookie (Max-Age=0) and ends the session', async () => {
    const { reply, cookie } = await cookieLogin();
    const accessToken = reply.json.access_token as string;

    // Logout is guarded like refresh: the cookie alone, without the header, is refused.
    const forged = await post(h, '/auth/logout', undefined, { cookie: `tg_refresh=${cookie.token}` });
    assert.equal(forged.status, 403, forged.text);
    assert.equal(await ordersStatus(h, accessToken), 200, 'the refused logout changed nothing');

    await cookieLogout(accessToken, cookie.token);

    assert.equal(await ordersStatus(h, accessToken), 401);
    const r = await post(h, '/auth/refresh', undefined, { ...COOKIE_MODE, cookie: `tg_refresh=${cookie.token}` });
    assert.equal(r.status, 401);
  });

  test('logout with an expired access token and the cookie still ends the session', async () => {
    const { reply, cookie } = await cookieLogin();
    const accessToken = reply.json.access_token as string;
    const sid = jwtPayload(accessToken).sid as string;
    h.clock.advanceSeconds(900 + 5 + 1); // past the access token's lifetime and the verifier's leeway
    assert.equal(await ordersStatus(h, accessToken), 401, 'the access token has expired');

    await cookieLogout(accessToken, cookie.token);
    assert.ok((await h.sessions.getSession(sid))?.revokedAt !== undefined, 'the session was revoked');
    const r = await post(h, '/auth/refresh', undefined, { ...COOKIE_MODE, cookie: `tg_refresh=${cookie.token}` });
    assert.equal(r.status, 401);
  });
});
