import { test } from 'node:test';
import assert from 'node:assert/strict';
import { InvalidRequestError } from '../../lambdas/core/errors.js';
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
