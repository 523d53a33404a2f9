/**
 * Section 5: building the IAM policy (PolicyBuilder.build) and serializing it (JSON.stringify, as the Lambda
 * runtime does with the answer) for route tables of 1, 10 and 100 protected routes, all granted. "cached" is the
 * steady state (the permission set was seen before: its resource list is memoized); "first" is a permission set
 * not seen before (the route table is walked).
 */
import { PolicyBuilder, type PolicyRoute } from '../../../lambdas/core/policy.js';
import { median } from '../lib/stats.js';

export interface PolicyResult {
  routes: number;
  cachedUs: number;
  firstUs: number;
  policyBytes: number;
}

const ARN = 'arn:aws:execute-api:us-east-1:123456789012:abcdef1234/prod/GET/r0/123';
const CONTEXT = { sub: 'alice', scope: 'orders:read orders:write', sid: 'c2Vzc2lvbi0x', jti: '5f0c0a52-9b5e-4a4e-9d1a-2b7f9a0c1e11' };

export function benchPolicy(opts: { quick: boolean }): PolicyResult[] {
  const sizes = [1, 10, 100];
  const builders = sizes.map((n) => {
    const routes: PolicyRoute[] = Array.from({ length: n }, (_, i) => ({ method: i % 2 ? 'POST' : 'GET', path: `/r${i}/{id}`, permission: 'orders:read' }));
    return new PolicyBuilder(routes);
  });
  const perms = ['orders:read', 'orders:write'];
  const rounds = opts.quick ? 3 : 7;
  const ops = opts.quick ? 2000 : 5000;
  const cached = sizes.map(() => [] as number[]);
  const first = sizes.map(() => [] as number[]);
  let sink = 0;
  let unique = 0;
  for (let round = -1; round < rounds; round++) {
    for (let s = 0; s < sizes.length; s++) {
      const b = builders[s]!;
      const n = Math.max(200, Math.floor(ops / Math.sqrt(sizes[s]!)));
      let t0 = performance.now();
      for (let i = 0; i < n; i++) sink += JSON.stringify(b.build(ARN, 'alice', 'orders:read orders:write', CONTEXT)).length;
      const c = ((performance.now() - t0) * 1000) / n;
      t0 = performance.now();
      // a scope never seen before: the cache misses, the scope is parsed and the route table is walked
      for (let i = 0; i < n; i++) sink += JSON.stringify(b.build(ARN, 'alice', `orders:read orders:write x:${unique++}`, CONTEXT)).length;
      const f = ((performance.now() - t0) * 1000) / n;
      if (round >= 0) {
        cached[s]!.push(c);
        first[s]!.push(f);
      }
    }
  }
  if (sink === 0) throw new Error('unreachable');
  return sizes.map((routes, s) => ({
    routes,
    cachedUs: median(cached[s]!),
    firstUs: median(first[s]!),
    policyBytes: JSON.stringify(builders[s]!.build(ARN, 'alice', perms, CONTEXT)).length,
  }));
}
