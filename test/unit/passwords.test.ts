import { test } from '@jest/globals';
import assert from 'node:assert/strict';
import { InvalidRequestError, TooManyAttemptsError } from '../../lambdas/core/errors.js';
import { OWASP_SCRYPT, PasswordHasher } from '../../lambdas/core/passwords.js';

test('defaults are OWASP scrypt (N=2^17, r=8, p=1) in a self-describing PHC string', async () => {
  assert.deepEqual(OWASP_SCRYPT, { ln: 17, r: 8, p: 1 });
  const h = new PasswordHasher();
  const phc = await h.hash('correct horse battery');
  assert.match(phc, /^\$scrypt\$ln=17,r=8,p=1\$[A-Za-z0-9+/]{22}\$[A-Za-z0-9+/]{43}$/);
  assert.equal(await h.verify('correct horse battery', phc), true);
  assert.equal(await h.verify('correct horse batterY', phc), false);
});

const fast = new PasswordHasher({ ln: 14, r: 8, p: 1 });

test('salted: the same password hashes differently; NFKC-equal passwords verify', async () => {
  const a = await fast.hash('pässword-1');
  assert.notEqual(a, await fast.hash('pässword-1'));
  assert.equal(await fast.verify('pa\u0308ssword-1', a), true);
});

test('old parameters keep verifying and are flagged for an upgrade', async () => {
  const old = await new PasswordHasher({ ln: 14, r: 8, p: 1 }).hash('old-password');
  const current = new PasswordHasher({ ln: 15, r: 8, p: 1 });
  assert.equal(await current.verify('old-password', old), true);
  assert.equal(current.needsRehash(old), true);
  assert.equal(current.needsRehash(await current.hash('new-password')), false);
  assert.equal(current.needsRehash('garbage'), true);
});

test('unknown user (no hash) costs a full verification and is always false', async () => {
  assert.equal(await fast.verify('anything-at-all', undefined), false);
  assert.equal(await fast.verify('anything-at-all', 'not a phc string'), false);
});

test('length bounds: under 8 characters cannot be set; over 1024 bytes is refused before hashing', async () => {
  await assert.rejects(fast.hash('short'), InvalidRequestError);
  await assert.rejects(fast.hash('x'.repeat(1025)), InvalidRequestError);
  await assert.rejects(fast.hash('é'.repeat(513)), InvalidRequestError, '1026 UTF-8 bytes');
});

test('at most 2 hashes run at once; up to 8 wait their turn; beyond that a check is refused at once with 429', async () => {
  const h = new PasswordHasher({ ln: 14, r: 8, p: 1 });
  const phc = await h.hash('a-password-1');
  let peak = 0;
  const outcomes = Array.from({ length: 12 }, () =>
    h.verify('a-password-1', phc).then(
      (ok) => {
        peak = Math.max(peak, h.load.active);
        return ok ? 'ok' : 'wrong';
      },
      (err: unknown) => (err instanceof TooManyAttemptsError ? `429 after ${err.retryAfterSeconds}s` : String(err)),
    ),
  );
  assert.deepEqual(h.load, { active: 2, waiting: 8 });
  assert.equal(h.saturated, true);
  const results = await Promise.all(outcomes);
  assert.deepEqual(results.filter((r) => r === 'ok').length, 10);
  assert.deepEqual(results.filter((r) => r !== 'ok'), ['429 after 1s', '429 after 1s']);
  assert.ok(peak <= 2, `peak ${peak}`);
  assert.deepEqual(h.load, { active: 0, waiting: 0 });
  assert.equal(h.saturated, false);
});

test('the bounds are settings: 1 at a time, no queue', async () => {
  const h = new PasswordHasher({ ln: 14, r: 8, p: 1 }, { maxConcurrent: 1, maxQueued: 0 });
  const [a, b] = await Promise.allSettled([h.verify('x-password', undefined), h.verify('y-password', undefined)]);
  assert.equal(a.status, 'fulfilled');
  assert.ok(b.status === 'rejected' && b.reason instanceof TooManyAttemptsError);
});
