import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AccessTokenIssuer, AccessTokenVerifier } from '../../lambdas/core/access-token.js';
import { ManualClock } from '../../lambdas/core/clock.js';
import { InvalidTokenError, type TokenRejection } from '../../lambdas/core/errors.js';
import { LocalKeySigner } from '../../lambdas/adapters/local-signer.js';
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
