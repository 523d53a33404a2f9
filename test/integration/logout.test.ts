/**
 * Logout needs a live credential (issue 9, item 3), end to end over the local stack.
 *
 * - `{"all": true}` only with a verified access token of a live session, or that session's current refresh token
 *   (which could mint such an access token anyway).
 * - Logout by refresh token only acts on that token's own session: the current token ends it; a spent one is
 *   reuse, which ends that session family and nothing else.
 * - A bearer that is present but not a genuine access token (garbage, forged, wrong audience…) is a 401 and
 *   nothing is ended, even next to a good refresh token. Only an *expired* genuine access token is set aside when
 *   a refresh token comes along (the client library's logout after a long idle).
 * - No mix of spent tokens, garbage bearers and `all` ends any other session.
 */
import { afterAll, beforeAll, describe, test } from '@jest/globals';
import assert from 'node:assert/strict';
import {
  bearer,
  jwtPayload,
  login,
  newUser,
  ordersStatus,
  post,
  refresh,
  startTestStack,
  type TestStack,
  type Tokens,
} from '../helpers/local.js';

describe('logout needs a live credential', () => {
  let h: TestStack;
  beforeAll(async () => {
    h = await startTestStack({ AUTHORIZER_CACHE_TTL_SECONDS: '0', REVOCATION_CACHE_TTL_SECONDS: '0' });
  });
  afterAll(() => h?.close());

  /** A user with two devices; device A has refreshed once, so `spent` is A's spent refresh token. */
  async function twoDevices(prefix: string) {
    const { username, password } = await newUser(h, ['orders:read'], prefix);
    const a0 = await login(h, username, password);
    const b = await login(h, username, password);
    const r = await refresh(h, a0.refresh_token);
    assert.equal(r.status, 200, r.text);
    const a = r.json as Tokens;
    h.clock.advanceSeconds(1); // later requests than the logins
    return { username, password, spent: a0.refresh_token, a, a0, b };
  }

  /** Device B's session is untouched: its access token passes and its refresh token rotates. */
  async function assertAlive(b: Tokens, why: string): Promise<Tokens> {
    assert.equal(await ordersStatus(h, b.access_token), 200, `${why}: the other device's access token must pass`);
    const r = await refresh(h, b.refresh_token);
    assert.equal(r.status, 200, `${why}: the other device's refresh token must rotate: ${r.text}`);
    return r.json as Tokens;
  }

  test('the issue: a spent refresh token of an ended session + a garbage bearer + all → 401, other devices live on', async () => {
    const { spent, a, b } = await twoDevices('garbage-all');
    // Device A logs out properly; its spent token is all the attacker has.
    assert.equal((await post(h, '/auth/logout', { refresh_token: a.refresh_token }, bearer(a.access_token))).status, 204);

    const out = await post(h, '/auth/logout', { refresh_token: spent, all: true }, bearer('garbage'));
    assert.equal(out.status, 401, out.text);
    await assertAlive(b, 'garbage bearer + spent token + all');
  });

  test('a spent refresh token of an ended session + all, no bearer → 401 invalid_grant, other devices live on', async () => {
    const { spent, a, b } = await twoDevices('spent-all');
    assert.equal((await post(h, '/auth/logout', { refresh_token: a.refresh_token }, bearer(a.access_token))).status, 204);

    const out = await post(h, '/auth/logout', { refresh_token: spent, all: true });
    assert.equal(out.status, 401, out.text);
    assert.deepEqual(out.json, { error: 'invalid_grant' });
    await assertAlive(b, 'spent token + all');
  });

  test('a spent refresh token of a live session + all → 401; it is reuse: that session ends, nothing else', async () => {
    const { spent, a, b } = await twoDevices('reuse-all');
    const out = await post(h, '/auth/logout', { refresh_token: spent, all: true });
    assert.equal(out.status, 401, out.text);
    assert.deepEqual(out.json, { error: 'invalid_grant' });

    const sid = jwtPayload(a.access_token).sid as string;
    assert.ok((await h.sessions.getSession(sid))?.revokedAt !== undefined, 'the spent token was reuse: its family is revoked');
    assert.equal(await ordersStatus(h, a.access_token), 401);
    assert.equal((await refresh(h, a.refresh_token)).status, 401);
    await assertAlive(b, 'spent token of a live session + all');
  });

  test('a spent refresh token alone (no all) ends its own session family only → 204', async () => {
    const { spent, a, b } = await twoDevices('reuse-one');
    const out = await post(h, '/auth/logout', { refresh_token: spent });
    assert.equal(out.status, 204, out.text);
    assert.equal(await ordersStatus(h, a.access_token), 401, 'the family of the spent token is ended');
    await assertAlive(b, 'spent token alone');
  });

  test("the access token of a revoked session cannot do all: 401, other devices live on", async () => {
    const { a, b } = await twoDevices('revoked-bearer');
    assert.equal((await post(h, '/auth/logout', { refresh_token: a.refresh_token }, bearer(a.access_token))).status, 204);
    // The access token is still unexpired and correctly signed, but its session is over.
    const out = await post(h, '/auth/logout', { all: true }, bearer(a.access_token));
    assert.equal(out.status, 401, out.text);
    await assertAlive(b, 'revoked session access token + all');
  });

  test('a garbage bearer next to a valid current refresh token → 401 invalid_token, and nothing is ended', async () => {
    const { a, b } = await twoDevices('garbage-one');
    for (const junk of ['garbage', 'not.a.token', `${a.access_token}x`]) {
      const out = await post(h, '/auth/logout', { refresh_token: a.refresh_token }, bearer(junk));
      assert.equal(out.status, 401, `${junk.slice(0, 20)}: ${out.text}`);
      assert.equal(out.json.error, 'invalid_token');
    }
    const out = await post(h, '/auth/logout', { refresh_token: a.refresh_token, all: true }, bearer('garbage'));
    assert.equal(out.status, 401, out.text);
    // Nothing happened: A's session is live and its current refresh token still rotates.
    await assertAlive(a, 'the refused logout');
    await assertAlive(b, 'the refused logout');
  });

  test("a refresh token of another user's session next to a valid bearer → 400, nothing is ended", async () => {
    const alice = await twoDevices('pair-a');
    const bob = await twoDevices('pair-b');
    const out = await post(h, '/auth/logout', { refresh_token: bob.b.refresh_token, all: true }, bearer(alice.b.access_token));
    assert.equal(out.status, 400, out.text);
    assert.equal(out.json.error, 'invalid_request');
    await assertAlive(alice.a, 'mismatched pair');
    await assertAlive(alice.b, 'mismatched pair');
    await assertAlive(bob.b, 'mismatched pair');
  });

  test('no credential at all → 401; a malformed body → 400', async () => {
    assert.equal((await post(h, '/auth/logout', { all: true })).status, 401);
    assert.equal((await post(h, '/auth/logout')).status, 401);
    assert.equal((await post(h, '/auth/logout', { all: 'yes' })).status, 400);
  });

  test('live credentials still work: the current refresh token alone ends its session; with all, every session', async () => {
    const one = await twoDevices('live-one');
    const out = await post(h, '/auth/logout', { refresh_token: one.a.refresh_token });
    assert.equal(out.status, 204, out.text);
    assert.equal(await ordersStatus(h, one.a.access_token), 401);
    await assertAlive(one.b, 'logout of one session by its refresh token');

    const all = await twoDevices('live-all');
    const out2 = await post(h, '/auth/logout', { refresh_token: all.a.refresh_token, all: true });
    assert.equal(out2.status, 204, out2.text);
    for (const s of [all.a, all.b]) {
      assert.equal(await ordersStatus(h, s.access_token), 401);
      assert.equal((await refresh(h, s.refresh_token)).status, 401);
    }
  });

  test('an expired (genuine) access token with the current refresh token and all → 204, every session ends', async () => {
    const { a, b } = await twoDevices('expired-all');
    h.clock.advanceSeconds(900 + 5 + 1);
    const out = await post(h, '/auth/logout', { refresh_token: a.refresh_token, all: true }, bearer(a.access_token));
    assert.equal(out.status, 204, out.text);
    assert.equal((await refresh(h, b.refresh_token)).status, 401, 'every session of the user ended');
    // An expired access token alone is no credential.
    const other = await twoDevices('expired-alone');
    h.clock.advanceSeconds(900 + 5 + 1);
    const alone = await post(h, '/auth/logout', { all: true }, bearer(other.b.access_token));
    assert.equal(alone.status, 401, alone.text);
    const r = await refresh(h, other.b.refresh_token);
    assert.equal(r.status, 200, `nothing was ended: ${r.text}`);
  });
});
