/**
 * The RFC 9068 profile on the corpus (test/bench/lib/corpus.ts): every valid, forged and malformed token gets
 * exactly its expected verdict and reason from AccessTokenVerifier (aws-jwt-verify + the profile), fresh, warm
 * and in reverse order. The benchmark runs the same check before it times anything.
 *
 * Run: npm run jest -- verify-corpus
 */
import { test } from '@jest/globals';
import assert from 'node:assert/strict';
import { buildCorpus, checkCorpus, type Mismatch } from '../bench/lib/corpus.js';

const describe = (list: Mismatch[]) => list.map((m) => `${m.keySet} / ${m.name}: expected ${m.expected}, got ${m.got}`).join('\n');

test('every token of the corpus gets its expected verdict and reason', () => {
  const run = checkCorpus();
  assert.ok(run.cases > 120, `corpus has ${run.cases} cases`);
  assert.ok(run.accepted >= 15, `the corpus holds valid tokens too (${run.accepted})`);
  assert.equal(run.mismatches.length, 0, describe(run.mismatches));
});

test('every reason of the profile is exercised by the corpus, and case names are unique', () => {
  const corpus = buildCorpus(Math.floor(Date.now() / 1000));
  const all = corpus.flatMap((k) => k.cases);
  assert.equal(new Set(all.map((c) => c.name)).size, all.length);
  const reasons = new Set(all.map((c) => c.expect));
  for (const r of ['accepted', 'malformed', 'bad_header', 'bad_signature', 'unknown_kid', 'expired', 'not_yet_valid', 'bad_issuer', 'bad_audience', 'bad_claims']) {
    assert.ok(reasons.has(r as never), `no case expects ${r}`);
  }
});

test('accepted tokens give plain claims: __proto__ and constructor keys never reach an object prototype', () => {
  const { acceptedClaims } = checkCorpus();
  for (const claims of acceptedClaims) {
    assert.equal(Object.getPrototypeOf(claims), Object.prototype);
    assert.equal(typeof claims.sub, 'string');
    assert.equal(claims.sub, 'alice', 'a duplicated key resolves to the last one, as JSON.parse does');
    assert.ok(!Object.hasOwn(claims, '__proto__'));
  }
  assert.equal(({} as Record<string, unknown>).polluted, undefined);
});
