/**
 * Section 2: every Lambda bundled as the CDK stack bundles it (lib/bundling.ts, which the stack uses: the AWS SDK
 * bundled in), its size, and its cold start in fresh `node` processes: module init (the `import` of the bundle),
 * the first invocation (for the authorizer: including its first revocation lookup against the embedded store)
 * and a second one. Beside the authorizer, built from the same entry and run the same way:
 * - the anchor, `authorizer_external_sdk`: the same code with `@aws-sdk/*` external, loaded at run time from
 *   node_modules as a function that relies on the Lambda runtime's SDK loads the runtime's copy (what most
 *   teams ship: NodejsFunction's default for Node 18+ runtimes);
 * - for the record, `authorizer_handwritten`: the authorizer of commit f78a304 (hand-written verifier and SigV4
 *   client, no Powertools), taken from git history at bench time (lib/history.ts).
 * Every round runs one process of each in a fresh random order, so machine noise spreads evenly; the authorizers
 * get more rounds than the other functions (their ratio is a budget).
 */
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { build, type Metafile } from 'esbuild';
import { authorizerRoutesDefine, LAMBDA_BUNDLE } from '../../../lib/bundling.js';
import { allRoutes } from '../../../lib/routes.js';
import shop from '../../../examples/shop/app.js';
const routes = allRoutes(shop);
import { newRefreshToken } from '../../../lambdas/core/refresh-token.js';
import { onCleanup, removeDirOnCleanup, stopChild } from '../lib/cleanup.js';
import { handwrittenTree } from '../lib/history.js';
import { median, rng, shuffle, spread } from '../lib/stats.js';
import { AUDIENCE, ISSUER, LOGIN_USER, METHOD_ARN, TABLE, type World } from '../lib/world.js';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
// tokengate's own functions (the sample shop's services are the team's code, not tokengate's, and are not measured).
export const FUNCTIONS = ['authorizer', 'login', 'refresh', 'logout', 'jwks'] as const;
/** The authorizer built other ways: the anchor (runtime's SDK) and, for the record, the old hand-written path. */
export const AUTHORIZER_VARIANTS = ['authorizer_external_sdk', 'authorizer_handwritten'] as const;
export type FunctionId = (typeof FUNCTIONS)[number] | (typeof AUTHORIZER_VARIANTS)[number];
const AUTHORIZERS: readonly FunctionId[] = ['authorizer', ...AUTHORIZER_VARIANTS];

export interface StackBundling {
  target: string;
  /** The stack's externals: none, the SDK is bundled. */
  external: string[];
  banner: string | undefined;
  nodeOptions: string;
  source: string;
}

/**
 * The stack's settings: esbuild's from lib/bundling.ts (shared with the stack), NODE_OPTIONS from the function
 * construct (it sets --enable-source-maps, which makes Node read the source map at load: part of the cold start).
 */
export function stackBundling(): StackBundling {
  let construct = '';
  try {
    construct = readFileSync(join(ROOT, 'lib/constructs/tokengate-function.ts'), 'utf8');
  } catch {
    // not there: the default below is what it set when this was written
  }
  const nodeOptions = /NODE_OPTIONS\]:\s*'([^']*)'/.exec(construct)?.[1] ?? '--enable-source-maps';
  return { target: LAMBDA_BUNDLE.target, external: [...LAMBDA_BUNDLE.external], banner: LAMBDA_BUNDLE.banner, nodeOptions, source: 'lib/bundling.ts' };
}

export interface BundleResult {
  id: FunctionId;
  /** How it was built: the stack's settings, the same with `@aws-sdk/*` external, or the old tree's entry. */
  build: 'stack' | 'external-sdk' | `history ${string}`;
  bytes: number;
  gzipBytes: number;
  mapBytes: number;
  initMs: number;
  initSpread: number;
  firstMs: number;
  /** init + first invocation: the cold start a request waits for. */
  coldMs: number;
  coldSpread: number;
  secondMs: number;
  /** Wall time of the whole process (spawn → exit) minus that of `node -e 0`. */
  wallMinusNodeMs: number;
  outcome: string;
  secondOutcome: string;
  processes: number;
  inputs: [string, number][];
}

export interface BundleResults {
  bundling: StackBundling;
  /** Processes per function (the authorizers: `authorizerProcesses`). */
  processes: number;
  authorizerProcesses: number;
  nodeBaselineMs: number;
  results: BundleResult[];
  /** Median over rounds of (authorizer cold ÷ anchor cold) of the same round, and the ratio of the medians. */
  coldVsAnchor: { paired: number; ofMedians: number };
  /** The old hand-written path: measured from git history, or why not (then docs/BENCHMARKS.md's record). */
  handwritten: { measured: true; commit: string } | { measured: false; reason: string };
}

interface Run {
  initMs: number;
  firstMs: number;
  secondMs: number;
  wallMs: number;
  outcome: string;
  secondOutcome: string;
}

function runProcess(args: string[], env: NodeJS.ProcessEnv, timeoutMs = 60_000): Promise<{ stdout: string; wallMs: number }> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const child = spawn(process.execPath, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
    const stop = onCleanup('cold-start process', () => stopChild(child, { graceMs: 500 }));
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    const timer = setTimeout(() => void stopChild(child, { graceMs: 100 }), timeoutMs);
    child.on('error', reject);
    child.on('exit', (code) => {
      const wallMs = performance.now() - started;
      clearTimeout(timer);
      void stop();
      if (code !== 0) reject(new Error(`${args.join(' ')} exited ${code}: ${stderr.slice(-2000)}`));
      else resolve({ stdout, wallMs });
    });
  });
}

const groupInputs = (meta: Metafile): [string, number][] => {
  const out = Object.values(meta.outputs).find((o) => o.entryPoint !== undefined) ?? Object.values(meta.outputs)[0]!;
  const by = new Map<string, number>();
  for (const [path, info] of Object.entries(out.inputs)) {
    const key = path.replace(/^.*node_modules\/((@[^/]+\/)?[^/]+).*$/, '$1');
    by.set(key, (by.get(key) ?? 0) + info.bytesInOutput);
  }
  return [...by].sort((a, b) => b[1] - a[1]);
};

export async function benchBundles(world: World, opts: { quick: boolean; log: (s: string) => void }): Promise<BundleResults> {
  const bundling = stackBundling();
  const dir = mkdtempSync(join(tmpdir(), 'tokengate-bundles-'));
  removeDirOnCleanup(dir);
  // The anchor's @aws-sdk/* imports resolve at run time, as from the Lambda runtime's copy: here from our node_modules.
  symlinkSync(join(ROOT, 'node_modules'), join(dir, 'node_modules'), 'dir');

  const old = handwrittenTree();
  const entries: Partial<Record<FunctionId, { entry: string; external: string[]; build: BundleResult['build'] }>> = {};
  const stack = (entry: string) => ({ entry: join(ROOT, entry), external: [...LAMBDA_BUNDLE.external], build: 'stack' as const });
  entries.authorizer = stack('lambdas/authorizer/handler.ts');
  entries.authorizer_external_sdk = { entry: join(ROOT, 'lambdas/authorizer/handler.ts'), external: ['@aws-sdk/*'], build: 'external-sdk' };
  if (old.ok) {
    // Bundled as then: today's settings with @aws-sdk/* external (it imports no SDK anyway).
    entries.authorizer_handwritten = { entry: join(old.dir, 'lambdas/authorizer/handler.ts'), external: ['@aws-sdk/*'], build: `history ${old.commit.slice(0, 7)}` };
  } else {
    opts.log(`  old hand-written authorizer not measured: ${old.reason}`);
  }
  entries.login = stack('lambdas/login/handler.ts');
  entries.refresh = stack('lambdas/refresh/handler.ts');
  entries.logout = stack('lambdas/logout/handler.ts');
  entries.jwks = stack('lambdas/jwks/handler.ts');
  const ids = Object.keys(entries) as FunctionId[];
  const built = new Map<FunctionId, { file: string; bytes: number; gzipBytes: number; mapBytes: number; inputs: [string, number][] }>();
  for (const id of ids) {
    const outDir = join(dir, id);
    mkdirSync(outDir);
    const outfile = join(outDir, 'index.mjs');
    const result = await build({
      entryPoints: [entries[id]!.entry],
      bundle: true,
      platform: LAMBDA_BUNDLE.platform,
      format: LAMBDA_BUNDLE.format,
      target: LAMBDA_BUNDLE.target,
      minify: LAMBDA_BUNDLE.minify,
      keepNames: LAMBDA_BUNDLE.keepNames,
      sourcemap: LAMBDA_BUNDLE.sourcemap,
      sourcesContent: false, // as the construct sets it
      external: entries[id]!.external,
      mainFields: [...LAMBDA_BUNDLE.mainFields],
      banner: { js: LAMBDA_BUNDLE.banner },
      // The authorizer's route table, compiled in as the construct does (lib/bundling.ts).
      define: authorizerRoutesDefine(routes),
      tsconfig: join(ROOT, 'tsconfig.json'),
      outfile,
      metafile: true,
      logLevel: 'warning',
    });
    const code = readFileSync(outfile);
    built.set(id, {
      file: outfile,
      bytes: code.length,
      gzipBytes: gzipSync(code).length,
      mapBytes: statSync(`${outfile}.map`).size,
      inputs: groupInputs(result.metafile),
    });
  }

  // Events and the environment the functions need to initialize (as the stack sets it, pointed at the embedded store).
  const [session, ended] = await world.addSessions(2, 'cold');
  const token = await world.mint(session!);
  // Logout gets a session of its own: it ends it (the first time), which the authorizer's session must not be.
  const logoutToken = await world.mint(ended!);
  const proxy = (method: string, resource: string, extra: Record<string, unknown> = {}) => ({
    resource,
    path: resource,
    httpMethod: method,
    headers: { 'Content-Type': 'application/json', Host: 'abcdef1234.execute-api.us-east-1.amazonaws.com' },
    multiValueHeaders: {},
    queryStringParameters: null,
    multiValueQueryStringParameters: null,
    pathParameters: null,
    stageVariables: null,
    isBase64Encoded: false,
    body: null,
    requestContext: {
      accountId: '123456789012',
      apiId: 'abcdef1234',
      stage: 'prod',
      requestId: 'bench',
      httpMethod: method,
      resourcePath: resource,
      path: `/prod${resource}`,
      identity: { sourceIp: '127.0.0.1', userAgent: 'bench' },
      authorizer: null,
    },
    ...extra,
  });
  const tokenEvent = { type: 'TOKEN', authorizationToken: `Bearer ${token}`, methodArn: METHOD_ARN };
  const events: Partial<Record<FunctionId, unknown>> = {
    ...Object.fromEntries(AUTHORIZERS.map((id) => [id, tokenEvent])),
    login: proxy('POST', '/auth/login', { body: JSON.stringify({ username: LOGIN_USER.username, password: LOGIN_USER.password }) }),
    // A well-formed refresh token the store does not know: one lookup, then 400 invalid_grant.
    refresh: proxy('POST', '/auth/refresh', { body: JSON.stringify({ refresh_token: newRefreshToken() }) }),
    // Logging out of an already ended session is fine (idempotent): every cold process does the same work.
    logout: proxy('POST', '/auth/logout', { headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${logoutToken}` }, body: '{}' }),
    jwks: proxy('GET', '/.well-known/jwks.json'),
  };
  const eventFiles = new Map<FunctionId, string>();
  for (const id of ids) {
    const f = join(dir, `${id}.event.json`);
    writeFileSync(f, JSON.stringify(events[id]));
    eventFiles.set(id, f);
  }
  const baseEnv: NodeJS.ProcessEnv = {
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    NODE_OPTIONS: bundling.nodeOptions,
    TZ: 'UTC',
    AWS_REGION: 'us-east-1',
    AWS_ACCESS_KEY_ID: 'AKIDBENCH',
    AWS_SECRET_ACCESS_KEY: 'bench-secret',
    AWS_SESSION_TOKEN: 'bench-session-token',
    AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
    TABLE_NAME: TABLE,
    DYNAMODB_ENDPOINT: world.endpoint,
    TOKEN_ISSUER: ISSUER,
    TOKEN_AUDIENCE: AUDIENCE,
    JWKS_JSON: JSON.stringify(world.jwks),
    SIGNER: 'local',
    SIGNING_KEY_FILE: world.keyFile,
    POWERTOOLS_METRICS_NAMESPACE: 'tokengate',
  };
  const envOf = (id: FunctionId): NodeJS.ProcessEnv => ({
    ...baseEnv,
    AWS_LAMBDA_FUNCTION_NAME: `tokengate-${id}`,
    POWERTOOLS_SERVICE_NAME: `tokengate-${id}`,
  });
  const runner = join(ROOT, 'test/bench/cold-runner.mjs');

  const processes = opts.quick ? 5 : 15;
  const authorizerProcesses = opts.quick ? 11 : 25;
  const runs = new Map<FunctionId, Run[]>(ids.map((id) => [id, []]));
  const nodeBaseline: number[] = [];
  const random = rng(11);
  for (let k = -1; k < authorizerProcesses; k++) {
    // k = -1: one untimed pass (file-system caches, the store's first requests)
    const t = await runProcess(['-e', '0'], baseEnv);
    if (k >= 0) nodeBaseline.push(t.wallMs);
    const round = shuffle(ids.filter((id) => AUTHORIZERS.includes(id) || k < processes), random);
    for (const id of round) {
      const { stdout, wallMs } = await runProcess([runner, built.get(id)!.file, eventFiles.get(id)!], envOf(id));
      const line = stdout.split('\n').find((l) => l.startsWith('BENCH_RESULT '));
      if (!line) throw new Error(`${id}: no result from the cold-start runner:\n${stdout.slice(-2000)}`);
      const r = JSON.parse(line.slice('BENCH_RESULT '.length)) as Omit<Run, 'wallMs'>;
      if (k >= 0) runs.get(id)!.push({ ...r, wallMs });
    }
    if (k >= 0 && (k + 1) % 5 === 0) opts.log(`  cold starts: round ${k + 1}/${authorizerProcesses}`);
  }

  const nodeBaselineMs = median(nodeBaseline);
  const results = ids.map((id): BundleResult => {
    const r = runs.get(id)!;
    const b = built.get(id)!;
    const cold = r.map((x) => x.initMs + x.firstMs);
    const outcomes = (f: (x: Run) => string) => [...new Set(r.map(f))].join(' | ');
    return {
      id,
      build: entries[id]!.build,
      bytes: b.bytes,
      gzipBytes: b.gzipBytes,
      mapBytes: b.mapBytes,
      initMs: median(r.map((x) => x.initMs)),
      initSpread: spread(r.map((x) => x.initMs)),
      firstMs: median(r.map((x) => x.firstMs)),
      coldMs: median(cold),
      coldSpread: spread(cold),
      secondMs: median(r.map((x) => x.secondMs)),
      wallMinusNodeMs: median(r.map((x) => x.wallMs)) - nodeBaselineMs,
      outcome: outcomes((x) => x.outcome),
      secondOutcome: outcomes((x) => x.secondOutcome),
      processes: r.length,
      inputs: b.inputs,
    };
  });
  // Paired in time: the authorizer's and the anchor's processes of one round ran next to each other.
  const ours = runs.get('authorizer')!;
  const anchor = runs.get('authorizer_external_sdk')!;
  const coldOf = (x: Run) => x.initMs + x.firstMs;
  const coldVsAnchor = {
    paired: median(ours.map((x, i) => coldOf(x) / coldOf(anchor[i]!))),
    ofMedians: median(ours.map(coldOf)) / median(anchor.map(coldOf)),
  };
  const handwritten = old.ok ? { measured: true as const, commit: old.commit } : { measured: false as const, reason: old.reason };
  return { bundling, processes, authorizerProcesses, nodeBaselineMs, results, coldVsAnchor, handwritten };
}
