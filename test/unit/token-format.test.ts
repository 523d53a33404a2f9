/**
 * One spelling per token (issue 9.10): the gateway's identity validation (deployed and local, one definition in
 * lib/bearer-format.ts) and the verifier both refuse padded or non-canonical base64url in every part, and both
 * accept every token the issuer could produce.
 *
 * Run: npm run jest -- token-format
 */
import { test } from '@jest/globals';
import assert from 'node:assert/strict';
import { randomBytes, randomInt } from 'node:crypto';
import { AccessTokenVerifier } from '../../lambdas/core/access-token.js';
import { ManualClock } from '../../lambdas/core/clock.js';
import { InvalidTokenError } from '../../lambdas/core/errors.js';
import { BASE64URL_PART_PATTERN, isCanonicalCompactJws } from '../../lambdas/core/token-format.js';
import { BEARER_VALIDATION_PATTERN, BEARER_VALIDATION_REGEX } from '../../lib/bearer-format.js';
import { AUTHORIZER_VALIDATION_REGEX } from '../../lib/constructs/tokengate-api.js';
import { DEFAULT_IDENTITY_VALIDATION } from '../../lib/local/gateway.js';
import { wholeValueRegex } from '../../lib/local/token-authorizer.js';
import { nonCanonical, padded } from '../bench/lib/corpus.js';
import { goodClaims, jwksOf, newTestKey, signEs256 } from '../helpers/jwt.js';

const key = newTestKey();
const clock = new ManualClock(Date.now());
const verifier = new AccessTokenVerifier({ issuer: 'https://issuer.test', audience: 'tokengate-api', jwks: jwksOf(key), leewaySeconds: 5, clock });
const header = { alg: 'ES256', typ: 'at+jwt', kid: key.jwk.kid };
/** The deployed expression (compiled as JS), and the local gateway's, as the local gateway applies it. */
const deployed = new RegExp(AUTHORIZER_VALIDATION_REGEX);
const local = wholeValueRegex(DEFAULT_IDENTITY_VALIDATION);
const gatewayAccepts = (value: string): boolean => {
  const d = deployed.test(value);
  assert.equal(local.test(value), d, `deployed and local validation disagree on ${value.slice(0, 40)}…`);
  return d;
};

/** Valid tokens of every length class: the payload carries a random-length extra claim. */
const validToken = (): string => signEs256(key, header, goodClaims(Math.floor(clock.now() / 1000), { x: 'y'.repeat(randomInt(0, 40)) }));

/** The definition: a base64url text is canonical when decoding and encoding again gives it back. */
const canonicalByRoundTrip = (s: string): boolean =>
  s.length > 0 && /^[-0-9A-Za-z_]*$/.test(s) && Buffer.from(s, 'base64url').toString('base64url') === s;

function refusedByVerifier(token: string): void {
  assert.throws(() => verifier.verify(token), (e: unknown) => e instanceof InvalidTokenError && e.reason === 'malformed', token.slice(-20));
}

test('the deployed expression and the local default are the one definition', () => {
  assert.equal(AUTHORIZER_VALIDATION_REGEX, BEARER_VALIDATION_PATTERN);
  assert.equal(DEFAULT_IDENTITY_VALIDATION, BEARER_VALIDATION_REGEX);
  // Plain syntax both Java (API Gateway) and JavaScript read alike: no lookbehind, no named groups, no flags.
  assert.doesNotMatch(AUTHORIZER_VALIDATION_REGEX, /\(\?<|\(\?[a-z]|\\[pPkdDwWsS]/);
});

test('the part pattern is exactly "decoding and re-encoding gives it back", on every short text and many random ones', () => {
  const part = new RegExp(`^${BASE64URL_PART_PATTERN}$`);
  const alphabet = 'AQgwBERh_-+/=.0';
  // Every text of length 0-4 over a small alphabet that has every pad-bit class, padding and foreign characters.
  const texts: string[] = [''];
  for (let len = 1; len <= 4; len++) for (const t of texts.filter((x) => x.length === len - 1)) for (const c of alphabet) texts.push(t + c);
  for (let i = 0; i < 5000; i++) {
    const s = randomBytes(randomInt(1, 40)).toString('base64url');
    texts.push(s, s.slice(0, -1) + alphabet[randomInt(alphabet.length)], padded(s), `${s}=`);
  }
  for (const s of texts) assert.equal(part.test(s), canonicalByRoundTrip(s), JSON.stringify(s));
});

test('many valid tokens, of every length class, pass the gateway (any case of Bearer) and the verifier', () => {
  const classes = new Set<string>();
  for (let i = 0; i < 200; i++) {
    const token = validToken();
    classes.add(token.split('.').map((p) => p.length % 4).join(''));
    assert.ok(isCanonicalCompactJws(token));
    for (const scheme of ['Bearer', 'bearer', 'BEARER', 'bEaReR']) assert.ok(gatewayAccepts(`${scheme} ${token}`), `${scheme} ${token}`);
    assert.ok(verifier.verify(token));
  }
  assert.ok(new Set([...classes].map((c) => c[1])).size >= 3, `payload lengths of every class: ${[...classes]}`);
});

test('padding or set pad bits in any one part: refused by the gateway and by the verifier (malformed)', () => {
  let checked = 0;
  for (let i = 0; i < 60; i++) {
    const parts = validToken().split('.');
    for (const at of [0, 1, 2]) {
      const p = parts[at]!;
      if (p.length % 4 === 0) continue; // no pad bits and no padding for a whole number of groups
      for (const variant of [padded(p), nonCanonical(p), `${p}=`]) {
        const token = parts.map((x, j) => (j === at ? variant : x)).join('.');
        assert.ok(!gatewayAccepts(`Bearer ${token}`), `part ${at}: ${variant.slice(-4)}`);
        refusedByVerifier(token);
        checked++;
      }
    }
  }
  assert.ok(checked > 100, `${checked} variants`);
});

test('a part of length 4n+1, an empty part, a foreign character or a wrong scheme: refused by both', () => {
  const [h, p, s] = validToken().split('.') as [string, string, string];
  const pad4n1 = (x: string) => x + 'A'.repeat((5 - (x.length % 4)) % 4 || 4); // → length 4n+1
  for (const token of [`${pad4n1(h)}.${p}.${s}`, `${h}.${pad4n1(p)}.${s}`, `${h}.${p}.${pad4n1(s)}`, `${h}..${s}`, `${h}.${p}.`, `${h}.${p}.${s}.`, `${h}.${p}+.${s}`, `${h} .${p}.${s}`]) {
    assert.ok(!gatewayAccepts(`Bearer ${token}`), token.slice(-10));
    refusedByVerifier(token);
  }
  const good = `${h}.${p}.${s}`;
  for (const value of [`Basic ${good}`, `Bearer  ${good}`, `Bearer${good}`, ` Bearer ${good}`, `Bearer ${good} `, `Bearer ${good}\n`]) {
    assert.ok(!gatewayAccepts(value), JSON.stringify(value.slice(0, 10)));
  }
});

test('no catastrophic backtracking: hostile values of the maximum header size are decided at once', () => {
  const long = 'A'.repeat(10_000);
  const hostile = [
    `Bearer ${long}`,
    `Bearer ${long}.${long}`,
    `Bearer ${long}.${long}.${long}=`,
    `Bearer ${long}.${long}.${long}B!`,
    `Bearer ${'AAAAB.'.repeat(3000)}`,
    `Bearer ${'AB.'.repeat(5000)}A`,
    `Bearer ${'A'.repeat(9_999)}.${'A'.repeat(9_999)}.${'A'.repeat(9_999)}`,
  ];
  for (const value of hostile) {
    const t0 = performance.now();
    gatewayAccepts(value);
    isCanonicalCompactJws(value.slice(7));
    assert.ok(performance.now() - t0 < 100, `${value.slice(0, 20)}… took ${performance.now() - t0} ms`);
  }
});
