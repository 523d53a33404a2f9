/**
 * Cookie delivery of the refresh token (browser clients), end to end: `X-Token-Delivery: cookie` moves the
 * refresh token out of the body into an HttpOnly `__Host-` cookie (Path=/, no Domain; `__Secure-` with
 * REFRESH_COOKIE_PATH); the same header is the CSRF guard for every cookie-authenticated call, a refused call
 * leaves the token unspent, and a request carrying the refresh cookie twice is refused (a planted cookie never wins).
 */
import { afterAll, beforeAll, describe, test, expect } from '@jest/globals';
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { hashRefreshToken } from '../../lambdas/core/refresh-token.js';
import { bearer, DEMO, jwtPayload, ordersStatus, post, startTestStack, type Reply, type TestStack } from '../helpers/local.js';

const COOKIE_MODE = { 'x-token-delivery': 'cookie' };
const REFRESH_TTL_SECONDS = 2_592_000;
const COOKIE = '__Host-tg_refresh';
const COOKIE_SHAPE = /^__Host-tg_refresh=(rt_[A-Za-z0-9_-]{43}); HttpOnly; Secure; SameSite=Strict; Path=\/; Max-Age=(\d+)$/;

/** The single refresh Set-Cookie of a response, checked for every attribute. */
function refreshCookie(r: Reply, shape = COOKIE_SHAPE): { token: string; maxAge: number } {
  const cookies = r.headers.getSetCookie();
  assert.equal(cookies.length, 1, `Set-Cookie: ${JSON.stringify(cookies)}`);
  const m = shape.exec(cookies[0]!);
  assert.ok(m, `unexpected Set-Cookie: ${cookies[0]}`);
  return { token: m[1]!, maxAge: Number(m[2]) };
}

describe('cookie mode', () => {
  /** A cookie-mode logout (bearer + cookie + the CSRF header): 204 and the cookie cleared. */
  async function cookieLogout(accessToken: string, refreshToken: string): Promise<void> {
    const out = await post(h, '/auth/logout', undefined, { ...COOKIE_MODE, ...bearer(accessToken), cookie: `${COOKIE}=${refreshToken}` });
    assert.equal(out.status, 204, out.text);
    expect(out.headers.getSetCookie()).toEqual(['__Host-tg_refresh=; HttpOnly; Secure; SameSite=Strict; Path=/; Max-Age=0']);
  }

  let h: TestStack;
  beforeAll(async () => {
    h = await startTestStack({ AUTHORIZER_CACHE_TTL_SECONDS: '0', REVOCATION_CACHE_TTL_SECONDS: '0' });
  });
  afterAll(() => h?.close());

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
    const r = await post(h, '/auth/refresh', undefined, { ...COOKIE_MODE, cookie: `${COOKIE}=${cookie.token}` });
    assert.equal(r.status, 200, r.text);
    assert.equal(r.json.refresh_token, undefined);
    const rotated = refreshCookie(r);
    assert.notEqual(rotated.token, cookie.token);
    assert.ok(rotated.maxAge <= cookie.maxAge, 'rotation does not extend the session');
    assert.equal(jwtPayload(r.json.access_token).sid, jwtPayload(first.json.access_token).sid);
    assert.equal(await ordersStatus(h, r.json.access_token), 200);

    // The old cookie is spent now.
    const replay = await post(h, '/auth/refresh', undefined, { ...COOKIE_MODE, cookie: `${COOKIE}=${cookie.token}` });
    assert.equal(replay.status, 401);
    assert.deepEqual(replay.json, { error: 'invalid_grant' });
  });

  test('refresh with the cookie but without the header is 403 (CSRF guard) and does not spend the token', async () => {
    const { cookie } = await cookieLogin();
    const forged = await post(h, '/auth/refresh', undefined, { cookie: `other=1; ${COOKIE}=${cookie.token}` });
    assert.equal(forged.status, 403, forged.text);
    assert.equal(forged.json.error, 'invalid_request');
    expect(forged.headers.getSetCookie()).toEqual([]);
    assert.equal(forged.json.access_token, undefined);

    const record = await h.sessions.getRefreshToken(hashRefreshToken(cookie.token));
    assert.ok(record, 'token record exists');
    assert.equal(record.usedAt, undefined, 'the refused request did not spend the token');

    const r = await post(h, '/auth/refresh', undefined, { ...COOKIE_MODE, cookie: `${COOKIE}=${cookie.token}` });
    assert.equal(r.status, 200, `a proper cookie refresh afterwards still works: ${r.text}`);
    refreshCookie(r);
    assert.equal(await ordersStatus(h, r.json.access_token), 200);
  });

  test('logout in cookie mode clears the cookie (Max-Age=0) and ends the session', async () => {
    const { reply, cookie } = await cookieLogin();
    const accessToken = reply.json.access_token as string;

    // Logout is guarded like refresh: the cookie alone, without the header, is refused.
    const forged = await post(h, '/auth/logout', undefined, { cookie: `${COOKIE}=${cookie.token}` });
    assert.equal(forged.status, 403, forged.text);
    assert.equal(await ordersStatus(h, accessToken), 200, 'the refused logout changed nothing');

    await cookieLogout(accessToken, cookie.token);

    assert.equal(await ordersStatus(h, accessToken), 401);
    const r = await post(h, '/auth/refresh', undefined, { ...COOKIE_MODE, cookie: `${COOKIE}=${cookie.token}` });
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
    const r = await post(h, '/auth/refresh', undefined, { ...COOKIE_MODE, cookie: `${COOKIE}=${cookie.token}` });
    assert.equal(r.status, 401);
  });
});

/**
 * A POST written byte for byte on a socket, so that a header can be sent twice exactly as given (fetch and
 * node:http merge or rewrite repeated Cookie headers).
 */
function rawPost(url: string, headers: [string, string][]): Promise<{ status: number; body: string; setCookie: string[] }> {
  const { hostname, port, pathname } = new URL(url);
  const head = [`POST ${pathname} HTTP/1.1`, `Host: ${hostname}:${port}`, 'Content-Length: 0', 'Connection: close']
    .concat(headers.map(([k, v]) => `${k}: ${v}`))
    .join('\r\n');
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    const socket = connect(Number(port), hostname, () => socket.write(`${head}\r\n\r\n`)); // the server closes (Connection: close)
    socket.on('data', (c: Buffer) => chunks.push(c));
    socket.on('error', reject);
    socket.on('close', () => {
      const text = Buffer.concat(chunks).toString('utf8');
      const [top = '', body = ''] = text.split('\r\n\r\n');
      const lines = top.split('\r\n');
      const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(lines[0] ?? '')?.[1] ?? 0);
      const setCookie = lines.filter((l) => /^set-cookie:/i.test(l)).map((l) => l.slice(l.indexOf(':') + 1).trim());
      resolve({ status, body, setCookie });
    });
  });
}

describe('cookie mode: a planted cookie never wins', () => {
  let h: TestStack;
  beforeAll(async () => {
    h = await startTestStack({ AUTHORIZER_CACHE_TTL_SECONDS: '0', REVOCATION_CACHE_TTL_SECONDS: '0' });
  });
  afterAll(() => h?.close());

  const cookieLogin = async (who: { username: string; password: string }) => {
    const r = await post(h, '/auth/login', who, COOKIE_MODE);
    assert.equal(r.status, 200, r.text);
    return { accessToken: r.json.access_token as string, token: refreshCookie(r).token };
  };
  const unspent = async (token: string, why: string) =>
    assert.equal((await h.sessions.getRefreshToken(hashRefreshToken(token)))?.usedAt, undefined, `${why}: token must be unspent`);

  test('two refresh cookies in one Cookie header → 400 on refresh and logout; neither token is spent or ended', async () => {
    const victim = await cookieLogin(DEMO.alice);
    const attacker = await cookieLogin(DEMO.bob); // the planted cookie: the attacker's own session
    for (const order of [
      `${COOKIE}=${attacker.token}; ${COOKIE}=${victim.token}`,
      `${COOKIE}=${victim.token}; ${COOKIE}=${attacker.token}`,
    ]) {
      const r = await post(h, '/auth/refresh', undefined, { ...COOKIE_MODE, cookie: order });
      assert.equal(r.status, 400, r.text);
      assert.equal(r.json.error, 'invalid_request');
      expect({ case: 'no cookie handed out', value: r.headers.getSetCookie() }).toEqual({ case: 'no cookie handed out', value: [] });
      const out = await post(h, '/auth/logout', undefined, { ...COOKIE_MODE, ...bearer(victim.accessToken), cookie: order });
      assert.equal(out.status, 400, out.text);
    }
    await unspent(victim.token, 'victim');
    await unspent(attacker.token, 'attacker');
    assert.equal(await ordersStatus(h, victim.accessToken), 200, 'the refused logout ended nothing');
  });

  test('one refresh cookie in each of two Cookie headers → 400', async () => {
    const victim = await cookieLogin(DEMO.alice);
    const attacker = await cookieLogin(DEMO.bob);
    const r = await rawPost(`${h.url}/auth/refresh`, [
      ['X-Token-Delivery', 'cookie'],
      ['Cookie', `${COOKIE}=${attacker.token}`],
      ['Cookie', `${COOKIE}=${victim.token}`],
    ]);
    assert.equal(r.status, 400, r.body);
    assert.equal(JSON.parse(r.body).error, 'invalid_request');
    assert.deepEqual(r.setCookie, []);
    await unspent(victim.token, 'victim');
    await unspent(attacker.token, 'attacker');

    // The same request with a single Cookie header among others works: the count is per cookie, not per header.
    const ok = await rawPost(`${h.url}/auth/refresh`, [
      ['X-Token-Delivery', 'cookie'],
      ['Cookie', 'theme=dark'],
      ['Cookie', `${COOKIE}=${victim.token}`],
    ]);
    assert.equal(ok.status, 200, `${ok.body}`);
    assert.equal(ok.setCookie.length, 1);
  });

  test('the legacy unprefixed tg_refresh cookie is not read', async () => {
    const s = await cookieLogin(DEMO.alice);
    const r = await post(h, '/auth/refresh', undefined, { ...COOKIE_MODE, cookie: `tg_refresh=${s.token}` });
    assert.equal(r.status, 400, r.text);
    assert.equal(r.json.error, 'invalid_request');
    await unspent(s.token, 'legacy cookie');
  });
});

describe('cookie mode with REFRESH_COOKIE_PATH=/auth: __Secure- prefix and that path', () => {
  const SHAPE = /^__Secure-tg_refresh=(rt_[A-Za-z0-9_-]{43}); HttpOnly; Secure; SameSite=Strict; Path=\/auth; Max-Age=(\d+)$/;
  let h: TestStack;
  beforeAll(async () => {
    h = await startTestStack({ AUTHORIZER_CACHE_TTL_SECONDS: '0', REVOCATION_CACHE_TTL_SECONDS: '0', REFRESH_COOKIE_PATH: '/auth' });
  });
  afterAll(() => h?.close());

  test('login, refresh and logout use __Secure-tg_refresh with Path=/auth; two of them → 400; __Host- is not read', async () => {
    const login = await post(h, '/auth/login', DEMO.alice, COOKIE_MODE);
    assert.equal(login.status, 200, login.text);
    const first = refreshCookie(login, SHAPE);

    const wrongName = await post(h, '/auth/refresh', undefined, { ...COOKIE_MODE, cookie: `${COOKIE}=${first.token}` });
    assert.equal(wrongName.status, 400, 'the other name is not read');

    const twice = await post(h, '/auth/refresh', undefined, {
      ...COOKIE_MODE,
      cookie: `__Secure-tg_refresh=${first.token}; __Secure-tg_refresh=${first.token}`,
    });
    assert.equal(twice.status, 400, twice.text);

    const r = await post(h, '/auth/refresh', undefined, { ...COOKIE_MODE, cookie: `__Secure-tg_refresh=${first.token}` });
    assert.equal(r.status, 200, r.text);
    const rotated = refreshCookie(r, SHAPE);

    const out = await post(h, '/auth/logout', undefined, {
      ...COOKIE_MODE,
      ...bearer(r.json.access_token as string),
      cookie: `__Secure-tg_refresh=${rotated.token}`,
    });
    assert.equal(out.status, 204, out.text);
    expect(out.headers.getSetCookie()).toEqual(['__Secure-tg_refresh=; HttpOnly; Secure; SameSite=Strict; Path=/auth; Max-Age=0']);
    assert.equal(await ordersStatus(h, r.json.access_token as string), 401);
  });
});
