/**
 * Differential test: lambdas/core/access-token.ts (hand-written steps over node:crypto) against the reference
 * built on aws-jwt-verify (reference-verifier.ts), over the corpus in lib/corpus.ts. Same verdict, same reason,
 * same claims, for every case. The benchmark runs the same check before it times anything.
 *
 * Run: node test/run.mjs verify-crosscheck
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { crosscheck, type Disagreement } from '../bench/lib/corpus.js';

const verdict = (v: Disagreement['ours']) => (v.ok ? 'accepted' : `${v.errorClass}(${v.reason})`);
const describe = (list: Disagreement[]) =>
  list.map((d) => `${d.keySet} / ${d.name}: ours ${verdict(d.ours)}, reference ${verdict(d.reference)}`).join('\n');

test('our verifier and the aws-jwt-verify reference agree on every token of the corpus', () => {
  const { cases, accepted, disagreements } = crosscheck();
  assert.ok(cases > 100, `corpus has ${cases} cases`);
  assert.ok(accepted >= 10, 'the corpus holds valid tokens too');
  assert.equal(disagreements.length, 0, describe(disagreements));
});

test('they agree at the edges of the leeway, by the system clock as well as by the injected one', () => {
  for (const offsetMs of [-6000, -5001, -4999, 0, 4999, 5001, 900_000, 904_999, 905_001]) {
    const { disagreements } = crosscheck(Date.now() + offsetMs);
    assert.equal(disagreements.length, 0, `clock offset ${offsetMs} ms: ${describe(disagreements)}`);
  }
});
