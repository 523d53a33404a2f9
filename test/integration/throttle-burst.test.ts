/**
 * Login throttling over HTTP against the local stack, with real concurrent requests and several client
 * addresses (Linux lets a local client send from any 127.x.y.z; the gateway takes `sourceIp` from the TCP peer).
 *
 * - Reserve before hashing: however many logins arrive at once for one (username, address), at most
 *   LOGIN_MAX_FAILURES passwords are checked (counted with a spy on PasswordHasher.verify).
 * - The lockout is not a weapon: a lock is per (username, address); the real user signs in from elsewhere, and
 *   slow guessing (one guess per window) never locks anyone.
 * - Successful logins never count.
 *
 * Each test uses its own usernames and its own client addresses; time moves only through the ManualClock.
 */
import { afterAll, beforeAll, describe, test } from '@jest/globals';
import assert from 'node:assert/strict';
import { PasswordHasher } from '../../lambdas/core/passwords.js';
import { newUser, startTestStack, type TestStack } from '../helpers/local.js';
import { countVerifications, postFrom, type AddressedReply } from '../helpers/from-address.js';

const MAX_FAILURES = 5; // LOGIN_MAX_FAILURES default
const WINDOW_SECONDS = 900; // LOGIN_WINDOW_SECONDS default

const tally = (rs: AddressedReply[]): Record<number, number> =>
  rs.reduce<Record<number, number>>((acc, r) => ({ ...acc, [r.status]: (acc[r.status] ?? 0) + 1 }), {});

function retryAfter(r: AddressedReply): number {
  const v = r.headers['retry-after'];
  assert.equal(typeof v, 'string', 'a 429 carries Retry-After');
  assert.match(v as string, /^\d+$/);
  return Number(v);
}

describe('login throttling under concurrency and from several addresses', () => {
  let h: TestStack;
  let verifications: ReturnType<typeof countVerifications>;
  beforeAll(async () => {
    h = await startTestStack({ AUTHORIZER_CACHE_TTL_SECONDS: '0' });
    verifications = countVerifications(PasswordHasher);
  });
  afterAll(async () => {
    verifications?.restore();
    await h?.close();
  });

  const login = (from: string, username: string, password: string) =>
    postFrom(h.url, '/auth/login', { username, password }, from);

  test('12 concurrent logins (11 wrong, 1 right) from one address: at most 5 failures are checked', async () => {
    const u = await newUser(h, ['orders:read'], 'burst12');
    const before = verifications.count;
    const replies = await Promise.all(
      Array.from({ length: 12 }, (_, i) => login('127.0.1.1', u.username, i === 6 ? u.password : `wrong-${i}`)),
    );
    const checked = verifications.count - before;
    const t = tally(replies);
    for (const r of replies) assert.ok([200, 401, 429].includes(r.status), `unexpected ${r.status}: ${r.text}`);
    assert.ok((t[401] ?? 0) <= MAX_FAILURES, `statuses ${JSON.stringify(t)}`);
    assert.ok((t[200] ?? 0) <= 1);
    assert.ok(checked <= MAX_FAILURES + 1, `${checked} passwords checked`);
    for (const r of replies.filter((x) => x.status === 429)) assert.ok(retryAfter(r) >= 1);
  });

  test('a burst of 40 wrong passwords from one address: 5 checked, 5×401, the rest 429; then locked for the window', async () => {
    const u = await newUser(h, ['orders:read'], 'burst40');
    const before = verifications.count;
    const replies = await Promise.all(Array.from({ length: 40 }, (_, i) => login('127.0.1.2', u.username, `wrong-${i}`)));
    const checked = verifications.count - before;
    const t = tally(replies);
    assert.deepEqual(t, { 401: MAX_FAILURES, 429: 40 - MAX_FAILURES }, `statuses ${JSON.stringify(t)}`);
    assert.equal(checked, MAX_FAILURES, 'passwords checked');
    for (const r of replies.filter((x) => x.status === 401)) assert.deepEqual(r.json, { error: 'invalid_grant' });

    // The five failures are settled now: the pair is locked until its window ends, even for the right password.
    const locked = await login('127.0.1.2', u.username, u.password);
    assert.equal(locked.status, 429);
    const wait = retryAfter(locked);
    assert.ok(wait >= 1 && wait <= WINDOW_SECONDS, `Retry-After ${wait}`);
    assert.equal(verifications.count - before, MAX_FAILURES, 'a locked attempt checks no password');
    h.clock.advanceSeconds(wait);
    assert.equal((await login('127.0.1.2', u.username, u.password)).status, 200, 'the lock ends with its window');
  });

  test('an attacker locks only their own address: the real user signs in from another one', async () => {
    const u = await newUser(h, ['orders:read'], 'target');
    const attacker = [];
    for (let i = 0; i < 10; i++) attacker.push((await login('127.0.2.66', u.username, `guess-${i}`)).status);
    assert.deepEqual(attacker, [401, 401, 401, 401, 401, 429, 429, 429, 429, 429]);
    assert.equal((await login('127.0.2.66', u.username, u.password)).status, 429, 'that address is locked for that name');

    const real = await login('127.0.2.1', u.username, u.password);
    assert.equal(real.status, 200, real.text);
    assert.equal(typeof real.json.access_token, 'string');
    // The attacker's address is not locked for other names either (the per-address limit is much higher).
    const other = await newUser(h, ['orders:read'], 'bystander');
    assert.equal((await login('127.0.2.66', other.username, other.password)).status, 200);
  });

  test('slow guessing cannot keep an account locked: a guess every 15 minutes for 6 hours, then the user gets in at once', async () => {
    const u = await newUser(h, ['orders:read'], 'slow');
    for (let i = 0; i < 24; i++) {
      if (i > 0) h.clock.advanceSeconds(WINDOW_SECONDS);
      assert.equal((await login('127.0.3.66', u.username, `slow-guess-${i}`)).status, 401, `guess ${i + 1}`);
    }
    // Right after the 24th guess: no lock anywhere, not even for the guessing address (one failure per window).
    const fromElsewhere = await login('127.0.3.1', u.username, u.password);
    assert.equal(fromElsewhere.status, 200, fromElsewhere.text);
    const fromSameAddress = await login('127.0.3.66', u.username, u.password);
    assert.equal(fromSameAddress.status, 200, fromSameAddress.text);
  });

  test('guessing at the full rate from one address never locks the user out from another address', async () => {
    const u = await newUser(h, ['orders:read'], 'steady');
    for (let round = 0; round < 8; round++) {
      for (let i = 0; i < 7; i++) await login('127.0.4.66', u.username, `guess-${round}-${i}`);
      const r = await login('127.0.4.1', u.username, u.password);
      assert.equal(r.status, 200, `round ${round}: ${r.text}`);
      h.clock.advanceSeconds(WINDOW_SECONDS / 3);
    }
  });

  test('successful logins never count: 30 in a row, and after 4 failures 20 more, and a 5th failure is still a 401', async () => {
    const u = await newUser(h, ['orders:read'], 'busy');
    for (let i = 0; i < 30; i++) assert.equal((await login('127.0.5.1', u.username, u.password)).status, 200, `login ${i + 1}`);
    for (let i = 0; i < 4; i++) assert.equal((await login('127.0.5.1', u.username, `typo-${i}`)).status, 401);
    for (let i = 0; i < 20; i++) assert.equal((await login('127.0.5.1', u.username, u.password)).status, 200, `login after typos ${i + 1}`);
    assert.equal((await login('127.0.5.1', u.username, 'typo-5')).status, 401, 'the 5th failure is checked, not refused');
  });
});
