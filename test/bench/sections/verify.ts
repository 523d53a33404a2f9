/**
 * Section 1: the warm path, in one process, interleaved. (a) raw crypto.verify of the token, (b) aws-jwt-verify
 * alone, (c) our verifier (aws-jwt-verify + the RFC 9068 profile and canonical-spelling check), (d) the authorizer
 * Lambda entry itself (lambdas/authorizer/handler.ts, Powertools and all) with a TOKEN event and a Lambda context:
 * revocation-cache hit, and miss against the embedded store; (d') beside it, the same authorizer composed without
 * Powertools (lib/authorizer.ts), which shows what the per-invocation instrumentation costs. Tokens come from a
 * pool of distinct valid tokens (there is no verified-token cache at all).
 *
 * Each round is a series of mini-rounds; a mini-round runs one block of every variant back to back (in a
 * random order). Reported: ops/s (median of rounds, and its spread), p50/p99 of all calls, and, paired with raw's
 * block of the same mini-round, the median throughput ratio and p99 difference: a burst of noise from the
 * (shared) machine hits a few blocks, and the median of the pairs leaves it out.
 */
import { createPublicKey, verify as cryptoVerify } from 'node:crypto';
import { openSync, closeSync, writeSync } from 'node:fs';
import type { APIGatewayAuthorizerResult, APIGatewayTokenAuthorizerEvent, Context } from 'aws-lambda';
import { JwtVerifier } from 'aws-jwt-verify';
import type { Jwk } from 'aws-jwt-verify/jwk';
import { authorizerRoutes } from '../../../lib/bundling.js';
import { allRoutes } from '../../../lib/routes.js';
import shop from '../../../examples/shop/app.js';
const routes = allRoutes(shop);
import { AccessTokenVerifier } from '../../../lambdas/core/access-token.js';
import { systemClock } from '../../../lambdas/core/clock.js';
import { composeBenchAuthorizer, sessionSourceFor } from '../lib/authorizer.js';
import { checkCorpus } from '../lib/corpus.js';
import { median, quantile, rng, shuffle, sortedCopy, spread } from '../lib/stats.js';
import { AUDIENCE, ISSUER, METHOD_ARN, TABLE, type World } from '../lib/world.js';

type Handler = (e: APIGatewayTokenAuthorizerEvent, context?: Context) => Promise<APIGatewayAuthorizerResult>;

export interface VariantResult {
  id: string;
  label: string;
  opsPerSec: number;
  spread: number;
  p50us: number;
  p99us: number;
  /** Median over mini-rounds of (this block's ops/s ÷ raw's block ops/s of the same mini-round). */
  ratioToRaw: number;
  /** Median over mini-rounds of (this block's p99 − raw's block p99 of the same mini-round). */
  p99OverRawUs: number;
  /** p99 of every call of all rounds together, minus raw's: what a user sees, machine noise included. */
  p99OverRawUsPooled: number;
  rounds: number;
  blocks: number;
  opsPerBlock: number;
}

export interface VerifyResults {
  tokens: number;
  sessions: number;
  tokenBytes: number;
  /** Corpus tokens checked for their expected verdict before timing. */
  corpusCases: number;
  variants: VariantResult[];
  handlerEnv: Record<string, string>;
}

interface Variant {
  id: string;
  label: string;
  /** Ops per block (0: the default); blocks of all variants alternate. */
  block: number;
  /** Called with an index into the token pool (events are pre-built at the same index: no lookup while timing). */
  sync?: (i: number) => unknown;
  async?: (i: number) => Promise<unknown>;
}

/** Imports a fresh instance of the Lambda entry, configured by `env` (it reads process.env at init). */
async function importHandler(env: Record<string, string>, instance: string): Promise<Handler> {
  const saved: Record<string, string | undefined> = {};
  for (const [k, v] of Object.entries(env)) {
    saved[k] = process.env[k];
    process.env[k] = v;
  }
  try {
    const url = new URL(`../../../lambdas/authorizer/handler.ts?bench=${instance}`, import.meta.url).href;
    return ((await import(url)) as { handler: Handler }).handler;
  } finally {
    for (const [k, v] of Object.entries(saved)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  }
}

export async function benchVerify(world: World, opts: { quick: boolean; log: (s: string) => void }): Promise<VerifyResults> {
  // Correctness first: never time a verifier that gives any corpus token another verdict than the profile's.
  const check = checkCorpus();
  if (check.mismatches.length > 0) {
    throw new Error(`verifier does not give the expected verdicts on the corpus:\n${JSON.stringify(check.mismatches, null, 2)}`);
  }
  opts.log(`  corpus: ${check.cases} tokens, each with its expected verdict and reason`);

  const SESSIONS = 64;
  const POOL = 4096;
  const sessions = await world.addSessions(SESSIONS, 'v');
  const tokens: string[] = [];
  for (let i = 0; i < POOL; i++) tokens.push(await world.mint(sessions[i % SESSIONS]!));
  const events = tokens.map((t): APIGatewayTokenAuthorizerEvent => ({ type: 'TOKEN', authorizationToken: `Bearer ${t}`, methodArn: METHOD_ARN }));

  const jwk = world.jwks.keys[0]!;
  const rawKey = { key: createPublicKey({ key: { ...jwk }, format: 'jwk' }), dsaEncoding: 'ieee-p1363' as const };
  const raw = (t: string): boolean => {
    const dot = t.lastIndexOf('.');
    return cryptoVerify('sha256', Buffer.from(t.slice(0, dot)), rawKey, Buffer.from(t.slice(dot + 1), 'base64url'));
  };
  const ajv = JwtVerifier.create({ issuer: ISSUER, audience: AUDIENCE, jwksUri: 'https://keys.invalid/jwks.json', graceSeconds: 5 });
  ajv.cacheJwks({ keys: world.jwks.keys.map((k): Jwk => ({ ...k })) });
  const verifierOpts = { issuer: ISSUER, audience: AUDIENCE, jwks: world.jwks, leewaySeconds: 5, clock: systemClock };
  const ours = new AccessTokenVerifier(verifierOpts);

  const handlerEnv = {
    TOKEN_ISSUER: ISSUER,
    TOKEN_AUDIENCE: AUDIENCE,
    JWKS_JSON: JSON.stringify(world.jwks),
    TABLE_NAME: TABLE,
    DYNAMODB_ENDPOINT: world.endpoint,
    AWS_REGION: 'us-east-1',
    AWS_ACCESS_KEY_ID: 'bench',
    AWS_SECRET_ACCESS_KEY: 'bench',
    POWERTOOLS_METRICS_NAMESPACE: 'tokengate-bench',
    // Unbundled (tsx), the entry reads its route table at run time; a bundle has it compiled in (lib/bundling.ts).
    TOKENGATE_ROUTES: JSON.stringify(authorizerRoutes(routes)),
  };
  // The entry publishes its metrics (one EMF line through Powertools) at the end of every invocation. They
  // must not land in the table, but their cost must stay in the figures: each is written, synchronously as
  // Lambda's log capture takes it, to /dev/null.
  const write = process.stdout.write.bind(process.stdout);
  const sink = openSync('/dev/null', 'w');
  process.stdout.write = ((chunk: string | Uint8Array, ...rest: unknown[]) =>
    typeof chunk === 'string' && chunk.startsWith('{"_aws"')
      ? (writeSync(sink, chunk), true)
      : (write as (c: unknown, ...r: unknown[]) => boolean)(chunk, ...rest)) as typeof process.stdout.write;
  // A Lambda context as the runtime passes one: Powertools puts it into the logger on every invocation.
  const context: Context = {
    awsRequestId: 'bench-request',
    functionName: 'tokengate-authorizer',
    functionVersion: '$LATEST',
    invokedFunctionArn: 'arn:aws:lambda:us-east-1:123456789012:function:tokengate-authorizer',
    memoryLimitInMB: '256',
    logGroupName: '/aws/lambda/tokengate-authorizer',
    logStreamName: 'bench',
    callbackWaitsForEmptyEventLoop: true,
    getRemainingTimeInMillis: () => 3000,
    done: () => {},
    fail: () => {},
    succeed: () => {},
  };
  const hit = await importHandler({ ...handlerEnv, REVOCATION_CACHE_TTL_SECONDS: '3600' }, 'hit');
  const miss = await importHandler({ ...handlerEnv, REVOCATION_CACHE_TTL_SECONDS: '0' }, 'miss');
  // The same authorizer without Powertools (composed like handler.ts, counters into nothing): what the
  // per-invocation instrumentation and metrics flush cost, beside the entry as deployed.
  const plainEnv = { ...handlerEnv, REVOCATION_CACHE_TTL_SECONDS: '3600' };
  const plainStore = sessionSourceFor(plainEnv);
  const plain = composeBenchAuthorizer(plainEnv, plainStore.source).handler;
  // Warm the hit instances' revocation caches: one lookup per session, then only hits.
  for (let i = 0; i < SESSIONS; i++) {
    await hit(events[i]!, context);
    await plain(events[i]!);
  }
  for (const t of tokens.slice(0, 8)) if (!raw(t) || !ajv.verifySync(t) || !ours.verify(t)) throw new Error('setup: a token does not verify');

  const all: Variant[] = [
    { id: 'raw', label: '(a) raw crypto.verify (split + verify)', block: 0, sync: (i) => raw(tokens[i]!) },
    { id: 'ajv', label: '(b) aws-jwt-verify verifySync', block: 0, sync: (i) => ajv.verifySync(tokens[i]!) },
    { id: 'ours', label: '(c) our AccessTokenVerifier.verify (aws-jwt-verify + profile)', block: 0, sync: (i) => ours.verify(tokens[i]!) },
    { id: 'composed-hit', label: "(d') same authorizer without Powertools, cache hit", block: 0, async: (i) => plain(events[i]!) },
    { id: 'handler-hit', label: '(d) authorizer handler (Lambda entry), revocation-cache hit', block: 0, async: (i) => hit(events[i]!, context) },
    { id: 'handler-miss', label: '(d) authorizer handler (Lambda entry), miss (embedded store)', block: 8, async: (i) => miss(events[i]!, context) },
  ];
  // BENCH_VARIANTS=raw,ours,… times only those (for profiling one path); raw always runs: ratios need it.
  const only = process.env.BENCH_VARIANTS?.split(',');
  if (only) all.splice(0, all.length, ...all.filter((v) => v.id === 'raw' || only.includes(v.id)));

  const rounds = opts.quick ? 3 : 7;
  const warm = all.filter((v) => v.id !== 'handler-miss');
  const cold = all.filter((v) => v.id === 'raw' || v.id === 'handler-miss');
  let results: VariantResult[];
  try {
    // The miss path runs the embedded store in this very process: its work would land on its neighbours'
    // clocks, so it gets a phase of its own (with raw, for its ratio).
    results = await measure(warm, POOL, rounds, 8, opts.quick ? 300 : 1000);
    if (cold.length > 1) results.push((await measure(cold, POOL, rounds, opts.quick ? 4 : 6, 8)).find((r) => r.id === 'handler-miss')!);
  } finally {
    process.stdout.write = write;
    closeSync(sink);
    plainStore.client.destroy();
  }
  return {
    tokens: POOL,
    sessions: SESSIONS,
    tokenBytes: Math.round(tokens.reduce((n, t) => n + t.length, 0) / POOL),
    corpusCases: check.cases,
    variants: results,
    handlerEnv,
  };
}

/** Times `variants` in interleaved mini-rounds (see the header); raw must be among them. */
async function measure(
  variants: Variant[],
  pool: number,
  rounds: number,
  blocksPerRound: number,
  blockOps: number,
): Promise<VariantResult[]> {
  const POOL = pool;
  const opsOf = (v: Variant) => (v.block === 0 ? blockOps : v.block);
  const lat = new Map(variants.map((v) => [v.id, new Float64Array(opsOf(v))]));
  // Every timed call of every round, per variant: the percentiles a user would see come from all of them.
  const pooled = new Map(variants.map((v) => [v.id, new Float64Array(opsOf(v) * blocksPerRound * rounds)]));
  // Per block: ops/s and p99. Blocks of one mini-round run back to back, so a noise burst of the machine
  // hits few of them; paired with raw's block of the same mini-round and taking the median cancels it.
  const blocks = new Map(variants.map((v) => [v.id, [] as { ops: number; p99: number }[]]));
  const perRound = new Map(variants.map((v) => [v.id, [] as number[]]));
  let cursor = 0;
  const random = rng(7);

  for (let round = -1; round < rounds; round++) {
    const elapsed = new Map(variants.map((v) => [v.id, 0]));
    for (let b = 0; b < blocksPerRound; b++) {
      // A fresh random order every mini-round: each variant follows each other one equally often (what ran
      // just before shows in the next block's first calls: caches, branch predictors).
      const order = shuffle([...variants], random);
      for (const v of order) {
        const n = opsOf(v);
        const out = lat.get(v.id)!;
        const start = cursor;
        cursor = (cursor + n) % POOL;
        let t0 = performance.now();
        const first = t0;
        if (v.sync) {
          const fn = v.sync;
          for (let i = 0; i < n; i++) {
            fn((start + i) % POOL);
            const t = performance.now();
            out[i] = t - t0;
            t0 = t;
          }
        } else {
          const fn = v.async!;
          for (let i = 0; i < n; i++) {
            await fn((start + i) % POOL);
            const t = performance.now();
            out[i] = t - t0;
            t0 = t;
          }
        }
        elapsed.set(v.id, elapsed.get(v.id)! + (t0 - first));
        if (round < 0) continue; // warm-up round: JIT, caches, connections
        pooled.get(v.id)!.set(out, (round * blocksPerRound + b) * n);
        blocks.get(v.id)!.push({ ops: n / ((t0 - first) / 1000), p99: quantile(sortedCopy(out), 0.99) * 1000 });
      }
    }
    if (round >= 0) for (const v of variants) perRound.get(v.id)!.push((opsOf(v) * blocksPerRound) / (elapsed.get(v.id)! / 1000));
  }

  const rawBlocks = blocks.get('raw')!;
  const percentiles = (id: string) => {
    const sorted = sortedCopy(pooled.get(id)!);
    return { p50: quantile(sorted, 0.5) * 1000, p99: quantile(sorted, 0.99) * 1000 };
  };
  const rawP = percentiles('raw');
  return variants.map((v): VariantResult => {
    const bl = blocks.get(v.id)!;
    const p = percentiles(v.id);
    return {
      id: v.id,
      label: v.label,
      opsPerSec: median(perRound.get(v.id)!),
      spread: spread(perRound.get(v.id)!),
      p50us: p.p50,
      p99us: p.p99,
      ratioToRaw: median(bl.map((x, i) => x.ops / rawBlocks[i]!.ops)),
      p99OverRawUs: median(bl.map((x, i) => x.p99 - rawBlocks[i]!.p99)),
      p99OverRawUsPooled: p.p99 - rawP.p99,
      rounds,
      blocks: bl.length,
      opsPerBlock: opsOf(v),
    };
  });
}
