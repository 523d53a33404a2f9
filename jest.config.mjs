// Jest runs the TypeScript tests as ES modules: @swc/jest strips the types (tsc --noEmit, run first by
// `npm test`, checks them), Node's vm modules load the ESM (hence --experimental-vm-modules in the npm script).
// Usage: npm test                    type-check, then every test
//        npm test -- <pattern>       type-check, then the test files whose path matches <pattern>
//        npm run jest -- <pattern>   the same without the type-check

// Set here, in the parent process, so the jest workers and every process a test starts inherit them.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
process.env.NODE_ENV = 'test';

/** @type {import('jest').Config} */
export default {
  testEnvironment: 'node',
  roots: ['<rootDir>/test'],
  // test/bench is run by `npm run bench`, not by the test suite.
  testMatch: ['<rootDir>/test/{unit,integration,infra,package}/**/*.test.ts'],
  extensionsToTreatAsEsm: ['.ts'],
  // Sources import './x.js' for './x.ts' (NodeNext); jest resolves the path without the suffix.
  moduleNameMapper: { '^(\\.{1,2}/.*)\\.js$': '$1' },
  transform: {
    '^.+\\.ts$': ['@swc/jest', { jsc: { parser: { syntax: 'typescript' }, target: 'es2022' }, module: { type: 'es6' } }],
  },
  // Tests hash passwords with scrypt and start embedded DynamoDB servers: far more than jest's default 5 s.
  testTimeout: 60_000,
  // A test file that starts servers or child processes must stop them; a hang here is a leak to fix, not to force.
  maxWorkers: 2,
};
