/**
 * Login throttling end to end: per username (known or not, alike) from one client, 429 with Retry-After, a
 * correct password does not get through a lock, locks always end (with their fixed window, LOGIN_WINDOW_SECONDS,
 * default 900), a new window starts the count over, and an oversized password is refused before any hashing.
 *
 * Defaults under test: LOGIN_MAX_FAILURES=5, LOGIN_WINDOW_SECONDS=900. Every test uses its own usernames (the
 * limits here are per username and client address; all requests come from 127.0.0.1); time moves only through
 * the ManualClock. Several addresses, concurrency and the other limits: throttle-burst and throttle-policy tests.
 */
import { afterAll, beforeAll, describe, test } from '@jest/globals';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { newUser, post, startTestStack, type Reply, type TestStack } from '../helpers/local.js';

const LOCK_MAX_SECONDS = 900;

/** Retry-After as integer seconds; fails the test when it is absent or not delta-seconds. */
function retryAfter(r: Reply): number {
  const v = r.headers.get('retry-after');
  assert.ok(v !== null, 'a 429 carries Retry-After');
  assert.match(v, /^\d+$/, `Retry-After is whole seconds, got "${v}"`);
  return Number(v);
}

describe('login throttling', () => {
  let h: TestStack;
  beforeAll(async () => {
    h = await startTestStack({ AUTHORIZER_CACHE_TTL_SECONDS: '0' });
  });
  afterAll(() => h?.close());

  const attempt = (username: string, password: string): Promise<Reply> => post(h, '/auth/login', { username, password });

  test('15 wrong passwords → 429 with Retry-After; an unknown username gets the very same sequence', async () => {
    const known = await newUser(h, ['orders:read'], 'known');
    const unknown = `ghost-${randomBytes(5).toString('hex')}`;

    const run = async (username: string) => {
      const replies: Reply[] = [];
      for (let i = 0; i < 15; i++) replies.push(await attempt(username, 'not-the-password'));
      return replies;
    };
    const knownReplies = await run(known.username);
    const unknownReplies = await run(unknown);

    const statuses = (rs: Reply[]) => rs.map((r) => r.status);
    assert.ok(statuses(knownReplies).includes(429), `statuses: ${statuses(knownReplies).join(',')}`);
    assert.deepEqual(statuses(unknownReplies), statuses(knownReplies), 'known and unknown names are throttled alike');
    for (const rs of [knownReplies, unknownReplies]) {
      assert.equal(rs[0]!.status, 401);
      assert.deepEqual(rs[0]!.json, { error: 'invalid_grant' });
      const first429 = rs.find((r) => r.status === 429)!;
      assert.ok(retryAfter(first429) >= 1);
      assert.equal(first429.json.error, 'too_many_attempts');
      for (const r of rs) assert.ok(r.status === 401 || r.status === 429, `unexpected ${r.status}`);
      for (const r of rs.filter((x) => x.status === 429)) assert.ok(retryAfter(r) >= 1 && retryAfter(r) <= LOCK_MAX_SECONDS);
    }
    // Same answers, and also the same shape of answer.
    assert.deepEqual(
      knownReplies.map((r) => r.headers.get('retry-after')),
      unknownReplies.map((r) => r.headers.get('retry-after')),
    );
  });

  test('a correct password while locked is 429; after the lock it logs in and the counter starts over', async () => {
    const u = await newUser(h, ['orders:read'], 'locked');
    let locked: Reply | undefined;
    for (let i = 0; i < 15 && !locked; i++) {
      const r = await attempt(u.username, 'wrong-password');
      if (r.status === 429) locked = r;
    }
    assert.ok(locked, 'the name got locked');

    const whileLocked = await attempt(u.username, u.password);
    assert.equal(whileLocked.status, 429, 'the right password does not get through a lock');
    const wait = retryAfter(whileLocked);
    assert.ok(wait >= 1);
    assert.equal(whileLocked.json.access_token, undefined);

    h.clock.advanceSeconds(wait);
    const ok = await attempt(u.username, u.password);
    assert.equal(ok.status, 200, ok.text);

    // The lock ended with its window, and a new window counts from zero: five fresh failures are all plain
    // 401s (without the reset, the first one would be a 429), and only then does the lock come back.
    for (let i = 0; i < 5; i++) {
      const r = await attempt(u.username, 'wrong-password');
      assert.equal(r.status, 401, `failure ${i + 1} after a success`);
    }
    assert.equal((await attempt(u.username, u.password)).status, 429);
  });

  test('no permanent lockout: a persistent guesser gets 5 checks per window, every lock ends within LOGIN_WINDOW_SECONDS, and the user gets in after each', async () => {
    const u = await newUser(h, ['orders:read'], 'capped');
    const locks: number[] = [];
    // Keep failing, waiting out each lock exactly, for ten locks in a row.
    for (let round = 0; round < 10; round++) {
      const statuses: number[] = [];
      let r: Reply;
      do {
        r = await attempt(u.username, 'wrong-password');
        statuses.push(r.status);
      } while (r.status === 401 && statuses.length < 20);
      assert.equal(r.status, 429, `round ${round}: ${statuses.join(',')}`);
      assert.ok(statuses.filter((s) => s === 401).length <= 5, `at most 5 passwords checked per window: ${statuses.join(',')}`);
      const s = retryAfter(r);
      assert.ok(s >= 1 && s <= LOCK_MAX_SECONDS, `lock ${s}`);
      locks.push(s);
      const locked = await attempt(u.username, u.password);
      assert.equal(locked.status, 429, 'the right password does not get through the lock');
      assert.ok(retryAfter(locked) <= s);
      h.clock.advanceSeconds(s);
      // The lock is over: the right password works now, however long the guessing has gone on.
      const ok = await attempt(u.username, u.password);
      assert.equal(ok.status, 200, `after lock ${round + 1} (${s} s): ${ok.text}`);
    }
    assert.ok(locks.every((s) => s <= LOCK_MAX_SECONDS), `locks seen: ${locks.join(',')}`);
  });

  test('a password over 1024 bytes is 400 invalid_request and never hashed (no failure is counted)', async () => {
    const u = await newUser(h, ['orders:read'], 'long');
    const oversized = ['a'.repeat(1025), 'é'.repeat(513) /* 1026 bytes, 513 characters */, 'x'.repeat(8000)];
    // Far more attempts than the failure limit: if any of them reached the password check, the name would be locked.
    for (let i = 0; i < 12; i++) {
      const r = await attempt(u.username, oversized[i % oversized.length]!);
      assert.equal(r.status, 400, r.text);
      assert.equal(r.json.error, 'invalid_request');
    }
    const r = await attempt(u.username, u.password);
    assert.equal(r.status, 200, `not throttled, so no oversized attempt was counted as a failure: ${r.text}`);

    // 1024 bytes exactly is an ordinary (wrong) password.
    const boundary = await attempt(u.username, 'b'.repeat(1024));
    assert.equal(boundary.status, 401);
    assert.deepEqual(boundary.json, { error: 'invalid_grant' });
  });
});
