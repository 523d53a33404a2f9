/**
 * How a Lambda is bundled: one source of truth for the CDK stack (NodejsFunction), the bundle tests and the
 * benchmark. Plain data, no CDK import.
 */
import type { BuildOptions } from 'esbuild';

export const LAMBDA_BUNDLE = {
  format: 'esm',
  platform: 'node',
  /** The deployed runtime is Node.js 24 (see lib/constructs/tokengate-function.ts). */
  target: 'node24',
  /** Prefer the ESM build of dependencies. */
  mainFields: ['module', 'main'],
  /** Serves CommonJS code inside the ESM bundle that calls require(). */
  banner:
    "import { createRequire as __tokengateCreateRequire } from 'node:module'; const require = __tokengateCreateRequire(import.meta.url);",
  minify: true,
  /**
   * Minified, but classes and functions keep their names: error names (`ConfigError`, `DependencyUnavailableError`)
   * are what the logs and Lambda's init-error report show, and minification would turn them into `m`.
   */
  keepNames: true,
  sourcemap: true,
  /**
   * Nothing external: the AWS SDK v3 clients (DynamoDB, KMS) are bundled and tree-shaken into each function, as AWS
   * advises, instead of loading the runtime's copy. A bundled client cold-starts faster than the runtime's full
   * package and its version is the one the tests ran against (docs/BENCHMARKS.md has the measurement).
   */
  external: [] as string[],
} as const;

/** One protected route as the authorizer's policy builder needs it: nothing else reaches its bundle. */
export interface AuthorizerRoute {
  readonly method: string;
  readonly path: string;
  readonly permission: string;
}

/**
 * The expression the authorizer's entry (lambdas/authorizer/handler.ts) reads its route table from. esbuild's
 * `define` replaces it with a string literal at bundle time, so the table is part of the code, not of the
 * environment: Lambda allows 4 KB of environment in total, and 200 routes are about 12 KB of JSON. A bundle
 * built without the define reads the variable at run time instead (tsx, tests); with neither it refuses to start.
 */
export const AUTHORIZER_ROUTES_DEFINE = 'process.env.TOKENGATE_ROUTES';

/** The protected routes of `routes` (method, path, permission), in order. */
export function authorizerRoutes(routes: readonly { method: string; path: string; permission: string | null }[]): AuthorizerRoute[] {
  return routes
    .filter((r): r is typeof r & { permission: string } => r.permission !== null)
    .map((r) => ({ method: r.method, path: r.path, permission: r.permission }));
}

/**
 * esbuild `define` entries that compile `routes` into the authorizer bundle. The value is a JavaScript string
 * literal (JSON of JSON), which is what esbuild's define takes; aws-cdk-lib's NodejsFunction passes it to esbuild
 * as one `--define:KEY=VALUE` argument (spawned without a shell locally, shell-escaped in Docker), so quotes and
 * spaces arrive intact.
 */
export function authorizerRoutesDefine(routes: readonly { method: string; path: string; permission: string | null }[]): Record<string, string> {
  return { [AUTHORIZER_ROUTES_DEFINE]: JSON.stringify(JSON.stringify(authorizerRoutes(routes))) };
}

/**
 * LAMBDA_BUNDLE as esbuild's own build options, for everything that bundles a function outside CDK (the bundle
 * tests, `npm run invoke -- --bundle`, the benchmark): spread it, then add the entry and the output.
 */
export const LAMBDA_ESBUILD_OPTIONS: Readonly<BuildOptions> = {
  bundle: true,
  format: LAMBDA_BUNDLE.format,
  platform: LAMBDA_BUNDLE.platform,
  target: LAMBDA_BUNDLE.target,
  mainFields: [...LAMBDA_BUNDLE.mainFields],
  banner: { js: LAMBDA_BUNDLE.banner },
  minify: LAMBDA_BUNDLE.minify,
  keepNames: LAMBDA_BUNDLE.keepNames,
  external: [...LAMBDA_BUNDLE.external],
  logLevel: 'error',
};

/**
 * The expression the JWKS function's entry reads the API's OpenAPI document from (GET /openapi.json on a deployed
 * API): compiled in by esbuild's define like the authorizer's route table, so its size costs no environment.
 */
export const OPENAPI_DEFINE = 'process.env.TOKENGATE_OPENAPI';

/** esbuild `define` entries that compile `document` into the JWKS function's bundle. */
export function openApiDefine(document: object): Record<string, string> {
  return { [OPENAPI_DEFINE]: JSON.stringify(JSON.stringify(document)) };
}
