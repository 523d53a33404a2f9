import { test } from '@jest/globals';
import assert from 'node:assert/strict';
import { randomInt, sign } from 'node:crypto';
import {
  AccessTokenIssuer,
  AccessTokenVerifier,
  accessTokenLengthBound,
  assertPermissionsFitToken,
  MAX_ACCESS_TOKEN_LENGTH,
} from '../../lambdas/core/access-token.js';
import { ManualClock } from '../../lambdas/core/clock.js';
import { InvalidRequestError, InvalidTokenError, TokenTooLargeError, type TokenRejection } from '../../lambdas/core/errors.js';
import { LocalKeySigner } from '../../lambdas/adapters/local-signer.js';
import { nonCanonical, padded } from '../bench/lib/corpus.js';
import { decodeHeader, decodePayload, goodClaims, jwksOf, newTestKey, signEs256, signHs256, unsigned } from '../helpers/jwt.js';

// aws-jwt-verify also checks exp/nbf against the system clock, so the injected clock starts at the real
// time and only ever moves forward from there.
const clock = new ManualClock(Date.now());
const key = newTestKey();
const other = newTestKey();
const ISS = 'https://issuer.test';
const AUD = 'tokengate-api';
const verifier = new AccessTokenVerifier({ issuer: ISS, audience: AUD, jwks: jwksOf(key), leewaySeconds: 5, clock });
const now = () => Math.floor(clock.now() / 1000);
const header = (over: Record<string, unknown> = {}) => ({ alg: 'ES256', typ: 'at+jwt', kid: key.jwk.kid, ...over });

function rejects(token: string, reason: TokenRejection | TokenRejection[]) {
  const reasons = Array.isArray(reason) ? reason : [reason];
  assert.throws(
    () => verifier.verify(token),
    (err: unknown) => err instanceof InvalidTokenError && reasons.includes(err.reason),
    `expected InvalidTokenError(${reasons.join('|')})`,
  );
}

test('a well-formed ES256 at+jwt verifies and returns its claims', () => {
  const claims = goodClaims(now());
  assert.deepEqual(verifier.verify(signEs256(key, header(), claims)), claims);
});

test('tokens issued by AccessTokenIssuer follow RFC 9068 and verify', async () => {
  const pem = key.privateKey.export({ format: 'pem', type: 'pkcs8' });
  const issuer = new AccessTokenIssuer(LocalKeySigner.fromPem(pem), { issuer: ISS, audience: AUD, accessTokenTtlSeconds: 900 }, clock);
  const { token, expiresIn, claims } = await issuer.issue({ sub: 'alice', sid: 'sid-1', permissions: ['orders:read', 'orders:write'] });
  assert.deepEqual(decodeHeader(token), { alg: 'ES256', typ: 'at+jwt', kid: key.jwk.kid });
  const p = decodePayload(token);
  assert.deepEqual(Object.keys(p).sort(), ['aud', 'exp', 'iat', 'iss', 'jti', 'scope', 'sid', 'sub']);
  assert.equal(p.scope, 'orders:read orders:write');
  assert.equal(expiresIn, 900);
  assert.equal(claims.exp - claims.iat, 900);
  assert.deepEqual(verifier.verify(token), claims);
});

test('alg none is rejected', () => {
  rejects(unsigned({ alg: 'none', typ: 'at+jwt', kid: key.jwk.kid }, goodClaims(now())), ['bad_header', 'malformed', 'bad_signature']);
});

test('HS256 signed with the public key (algorithm confusion) is rejected', () => {
  const publicPem = key.privateKey.export({ format: 'pem', type: 'pkcs8' });
  for (const secret of [JSON.stringify(key.jwk), publicPem, key.jwk.x]) {
    rejects(signHs256(secret, { alg: 'HS256', typ: 'at+jwt', kid: key.jwk.kid }, goodClaims(now())), ['bad_header', 'malformed']);
  }
});

test('a tampered payload fails the signature check', () => {
  const token = signEs256(key, header(), goodClaims(now()));
  const [h, , s] = token.split('.');
  const forged = Buffer.from(JSON.stringify(goodClaims(now(), { scope: 'orders:* admin:*' }))).toString('base64url');
  rejects(`${h}.${forged}.${s}`, 'bad_signature');
});

test('a signature by another key under our kid fails; an unknown kid is rejected', () => {
  rejects(signEs256(other, header(), goodClaims(now())), 'bad_signature');
  rejects(signEs256(other, header({ kid: other.jwk.kid }), goodClaims(now())), 'unknown_kid');
});

test('a missing kid is rejected even with a valid signature', () => {
  rejects(signEs256(key, { alg: 'ES256', typ: 'at+jwt' }, goodClaims(now())), ['bad_header', 'unknown_kid']);
});

test('expired (past the leeway) is rejected; within the leeway it passes', () => {
  rejects(signEs256(key, header(), goodClaims(now() - 1000, { exp: now() - 6 })), 'expired');
  assert.ok(verifier.verify(signEs256(key, header(), goodClaims(now() - 100, { exp: now() - 2 }))));
});

test('expiry follows the injected clock', () => {
  const c = new ManualClock(Date.now());
  const v = new AccessTokenVerifier({ issuer: ISS, audience: AUD, jwks: jwksOf(key), leewaySeconds: 5, clock: c });
  const t = signEs256(key, header(), goodClaims(Math.floor(c.now() / 1000), { exp: Math.floor(c.now() / 1000) + 60 }));
  assert.ok(v.verify(t));
  c.advanceSeconds(66);
  assert.throws(() => v.verify(t), (e: unknown) => e instanceof InvalidTokenError && e.reason === 'expired');
});

test('not yet valid (nbf or iat in the future beyond the leeway) is rejected', () => {
  rejects(signEs256(key, header(), goodClaims(now(), { nbf: now() + 60 })), 'not_yet_valid');
  rejects(signEs256(key, header(), goodClaims(now(), { iat: now() + 60 })), 'not_yet_valid');
});

test('wrong issuer and wrong audience are rejected', () => {
  rejects(signEs256(key, header(), goodClaims(now(), { iss: 'https://evil.test' })), 'bad_issuer');
  rejects(signEs256(key, header(), goodClaims(now(), { aud: 'another-api' })), 'bad_audience');
  rejects(signEs256(key, header(), goodClaims(now(), { aud: ['another-api', AUD] })), ['bad_audience', 'bad_claims']);
});

test('missing exp, iat, sub, sid or jti is rejected', () => {
  for (const drop of ['exp', 'iat', 'sub', 'sid', 'jti', 'scope']) {
    const claims = goodClaims(now());
    delete claims[drop];
    rejects(signEs256(key, header(), claims), ['bad_claims']);
  }
});

test('typ other than at+jwt is rejected (an ID token or a plain JWT is not an access token)', () => {
  for (const typ of ['JWT', 'jwt', undefined, 'id_token+jwt', 'at+jwt+x']) {
    rejects(signEs256(key, header({ typ }), goodClaims(now())), 'bad_header');
  }
  assert.ok(verifier.verify(signEs256(key, header({ typ: 'application/at+jwt' }), goodClaims(now()))));
});

test('an unknown crit header is rejected', () => {
  rejects(signEs256(key, header({ crit: ['exp'] }), goodClaims(now())), 'bad_header');
  rejects(signEs256(key, header({ crit: ['https://example.com/ext'], 'https://example.com/ext': true }), goodClaims(now())), 'bad_header');
});

test('garbage is rejected as malformed, never with another error class', () => {
  const garbage = ['', 'abc', 'a.b.c', '...', 'e30.e30.', 'x'.repeat(10_000), '{"alg":"ES256"}', 'eyJhbGciOiJFUzI1NiJ9.bm90IGpzb24.c2ln', `${'A'.repeat(5)}.${'B'.repeat(5)}`];
  for (const g of garbage) {
    assert.throws(() => verifier.verify(g), InvalidTokenError, `for ${g.slice(0, 20)}`);
  }
});

test('time is checked at the edges of the leeway by the injected clock: exp + leeway is already too late', () => {
  const t0 = Math.floor(Date.now() / 1000) + 100; // ahead of the wall clock: only the injected clock decides
  const c = new ManualClock(t0 * 1000);
  const v = new AccessTokenVerifier({ issuer: ISS, audience: AUD, jwks: jwksOf(key), leewaySeconds: 5, clock: c });
  const token = signEs256(key, header(), goodClaims(t0 - 10, { exp: t0 }));
  for (const [offsetMs, verdict] of [[0, 'ok'], [4999, 'ok'], [5000, 'expired'], [60_000, 'expired']] as const) {
    c.set(t0 * 1000 + offsetMs);
    if (verdict === 'ok') assert.ok(v.verify(token), `exp + ${offsetMs} ms`);
    else assert.throws(() => v.verify(token), (e: unknown) => e instanceof InvalidTokenError && e.reason === 'expired', `exp + ${offsetMs} ms`);
  }
  const early = signEs256(key, header(), goodClaims(t0, { iat: t0 + 10, exp: t0 + 900 }));
  for (const [offsetMs, ok] of [[5000, true], [4999, false]] as const) {
    c.set(t0 * 1000 + offsetMs);
    if (ok) assert.ok(v.verify(early));
    else assert.throws(() => v.verify(early), (e: unknown) => e instanceof InvalidTokenError && e.reason === 'not_yet_valid');
  }
});

test('the wall clock is checked as well (aws-jwt-verify): a token expired by it is refused whatever the injected clock says', () => {
  const wall = Math.floor(Date.now() / 1000);
  const c = new ManualClock((wall - 3600) * 1000);
  const v = new AccessTokenVerifier({ issuer: ISS, audience: AUD, jwks: jwksOf(key), leewaySeconds: 5, clock: c });
  assert.throws(
    () => v.verify(signEs256(key, header(), goodClaims(wall - 3600, { exp: wall - 60 }))),
    (e: unknown) => e instanceof InvalidTokenError && e.reason === 'expired',
  );
});

test('padded or non-canonical base64url in any part is malformed, even when the signature covers that spelling', () => {
  const signRaw = (input: string) => `${input}.${sign('sha256', Buffer.from(input), { key: key.privateKey, dsaEncoding: 'ieee-p1363' }).toString('base64url')}`;
  let token = signEs256(key, header(), goodClaims(now()));
  for (let n = 1; token.split('.')[1]!.length % 4 !== 2; n++) token = signEs256(key, header(), goodClaims(now(), { pad: 'x'.repeat(n) }));
  const [h, p, s] = token.split('.') as [string, string, string];
  assert.ok(verifier.verify(token));
  // Each spelling decodes to the same bytes as the canonical one; only the spelling is wrong.
  for (const [hh, pp] of [[padded(h), p], [h, padded(p)], [nonCanonical(h), p], [h, nonCanonical(p)]] as const) {
    assert.deepEqual(Buffer.from(hh, 'base64url'), Buffer.from(h, 'base64url'));
    assert.deepEqual(Buffer.from(pp, 'base64url'), Buffer.from(p, 'base64url'));
    rejects(signRaw(`${hh}.${pp}`), 'malformed');
  }
  for (const ss of [padded(s), nonCanonical(s), `${s}=`]) {
    assert.deepEqual(Buffer.from(ss, 'base64url'), Buffer.from(s, 'base64url'));
    rejects(`${h}.${p}.${ss}`, 'malformed');
  }
});

test('the size bound of the admin check is never below a real token, and close to it', async () => {
  const pem = key.privateKey.export({ format: 'pem', type: 'pkcs8' });
  const issuer = new AccessTokenIssuer(LocalKeySigner.fromPem(pem), { issuer: ISS, audience: AUD, accessTokenTtlSeconds: 900 }, clock);
  for (let i = 0; i < 50; i++) {
    const sub = 'u'.repeat(randomInt(1, 65));
    const permissions = Array.from({ length: randomInt(0, 60) }, (_, j) => `r${j}${'x'.repeat(randomInt(0, 60))}:${'a'.repeat(randomInt(1, 30))}`);
    const { token } = await issuer.issue({ sub, sid: 'c2Vzc2lvbi0xMjM0NTY3OA', permissions });
    for (const cfg of [{ issuer: ISS, audience: AUD }, {}]) {
      const bound = accessTokenLengthBound({ sub, permissions }, cfg);
      assert.ok(bound >= token.length, `bound ${bound} < token ${token.length}`);
      if (cfg.issuer) assert.ok(bound - token.length < 200, `bound ${bound} is loose for ${token.length}`);
    }
  }
});

test('the admin check refuses exactly the permission sets whose tokens could exceed what the verifier accepts', async () => {
  const perm = (j: number) => `resource-${String(j).padStart(4, '0')}:${'a'.repeat(40)}`;
  const sub = 'u'.repeat(64);
  let n = 0;
  while (accessTokenLengthBound({ sub, permissions: Array.from({ length: n + 1 }, (_, j) => perm(j)) }, { issuer: ISS, audience: AUD }) <= MAX_ACCESS_TOKEN_LENGTH) n++;
  const fits = Array.from({ length: n }, (_, j) => perm(j));
  const tooMany = Array.from({ length: n + 1 }, (_, j) => perm(j));
  assertPermissionsFitToken({ sub, permissions: fits }, { issuer: ISS, audience: AUD });
  assert.throws(() => assertPermissionsFitToken({ sub, permissions: tooMany }, { issuer: ISS, audience: AUD }), InvalidRequestError);
  // Without the configuration at hand the bound assumes long iss/aud: stricter, never laxer.
  assert.throws(() => assertPermissionsFitToken({ sub, permissions: fits }), InvalidRequestError);
  // What passes the admin check issues and verifies.
  const pem = key.privateKey.export({ format: 'pem', type: 'pkcs8' });
  const issuer = new AccessTokenIssuer(LocalKeySigner.fromPem(pem), { issuer: ISS, audience: AUD, accessTokenTtlSeconds: 900 }, clock);
  const { token } = await issuer.issue({ sub, sid: 'c2Vzc2lvbi0xMjM0NTY3OA', permissions: fits });
  assert.ok(token.length <= MAX_ACCESS_TOKEN_LENGTH);
  assert.equal(verifier.verify(token).sub, sub);
});

test('the issuer refuses to sign a token longer than the verifier accepts (TokenTooLargeError), which the verifier would refuse', async () => {
  const pem = key.privateKey.export({ format: 'pem', type: 'pkcs8' });
  const issuer = new AccessTokenIssuer(LocalKeySigner.fromPem(pem), { issuer: ISS, audience: AUD, accessTokenTtlSeconds: 900 }, clock);
  const permissions = Array.from({ length: 200 }, (_, j) => `resource-${j}:${'a'.repeat(40)}`);
  await assert.rejects(issuer.issue({ sub: 'alice', sid: 'sid-1', permissions }), (e: unknown) => e instanceof TokenTooLargeError && e.code === 'token_too_large' && !e.message.includes('eyJ'));
  rejects(signEs256(key, header(), goodClaims(now(), { scope: permissions.join(' ') })), 'malformed');
  // Right at the limit: a token of exactly maxTokenLength characters is issued and verified.
  const { token } = await issuer.issue({ sub: 'alice', sid: 'sid-1', permissions: ['orders:read'] });
  const exact = new AccessTokenIssuer(LocalKeySigner.fromPem(pem), { issuer: ISS, audience: AUD, accessTokenTtlSeconds: 900, maxTokenLength: token.length }, clock);
  assert.ok((await exact.issue({ sub: 'alice', sid: 'sid-1', permissions: ['orders:read'] })).token.length <= token.length);
  const smaller = new AccessTokenIssuer(LocalKeySigner.fromPem(pem), { issuer: ISS, audience: AUD, accessTokenTtlSeconds: 900, maxTokenLength: token.length - 1 }, clock);
  await assert.rejects(smaller.issue({ sub: 'alice', sid: 'sid-1', permissions: ['orders:read'] }), TokenTooLargeError);
});
