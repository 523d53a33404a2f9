/**
 * How a Lambda is bundled: one source of truth for the CDK stack (NodejsFunction), the bundle tests and the
 * benchmark. Plain data, no CDK import.
 */
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
