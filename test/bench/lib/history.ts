/**
 * "The old hand-written path, for the record": the authorizer as it was before aws-jwt-verify, the AWS SDK and
 * Powertools took over (hand-written verifier, SigV4 client over node:https, in-memory counters), taken from git
 * history at bench time (`git archive <commit> lambdas lib/routes.ts` into a temp dir, removed at the end) and
 * measured beside today's code in the same run. Nothing of it is copied into the product tree. Without the
 * history (a shallow clone, a tarball) the benchmark says so and shows the figures recorded at the time instead
 * (RECORDED below, labelled as such).
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { removeDirOnCleanup } from './cleanup.js';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));

/** The last commit with the hand-written verifier and DynamoDB client (the review pass before they went). */
export const HANDWRITTEN_COMMIT = 'f78a304';

/**
 * What docs/BENCHMARKS.md recorded for that authorizer (full run, 2-vCPU shared VM, 2026-11-26), for when it
 * cannot be measured here. Its anchor then was a different one (aws-jwt-verify + SDK GetItem, SDK external).
 */
export const RECORDED = {
  date: '2026-11-26',
  bundleBytes: 17.2 * 1024,
  initMs: 10.4,
  firstMs: 11.1,
  coldMs: 21.7,
  /** One GetItem against the embedded store through the hand-written client, p50 (the SDK's: 0.67 ms then). */
  getItemMsP50: 0.3,
} as const;

export type OldTree = { ok: true; dir: string; commit: string } | { ok: false; reason: string };

let cached: OldTree | undefined;

/** The tree of HANDWRITTEN_COMMIT (lambdas/ and lib/routes.ts) in a temp dir with our node_modules linked in. */
export function handwrittenTree(): OldTree {
  if (cached) return cached;
  const rev = spawnSync('git', ['-C', ROOT, 'rev-parse', '--verify', '--quiet', `${HANDWRITTEN_COMMIT}^{commit}`], { encoding: 'utf8' });
  if (rev.status !== 0) {
    cached = { ok: false, reason: `commit ${HANDWRITTEN_COMMIT} is not in this clone's history` };
    return cached;
  }
  const commit = rev.stdout.trim();
  const archive = spawnSync('git', ['-C', ROOT, 'archive', '--format=tar', commit, 'lambdas', 'lib/routes.ts'], { maxBuffer: 256 * 1024 * 1024 });
  if (archive.status !== 0) {
    cached = { ok: false, reason: `git archive failed: ${archive.stderr.toString().trim()}` };
    return cached;
  }
  const dir = mkdtempSync(join(tmpdir(), 'tokengate-handwritten-'));
  removeDirOnCleanup(dir);
  const untar = spawnSync('tar', ['-x', '-C', dir], { input: archive.stdout });
  if (untar.status !== 0) {
    cached = { ok: false, reason: `tar failed: ${untar.stderr.toString().trim()}` };
    return cached;
  }
  // Its imports (aws-jwt-verify's safe JSON parser, @types) resolve from our node_modules.
  symlinkSync(join(ROOT, 'node_modules'), join(dir, 'node_modules'), 'dir');
  cached = { ok: true, dir, commit };
  return cached;
}
