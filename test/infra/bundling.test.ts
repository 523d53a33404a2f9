/**
 * The bundle settings keep error names readable: a handler bundled as the stack bundles it (lib/bundling.ts) and
 * started with a bad configuration fails its init with a `ConfigError`, not with whatever one-letter name the
 * minifier picked. The same build without `keepNames` is the control: it shows the minifier does rename the
 * class, so the first assertion is not true by accident.
 */
import assert from 'node:assert/strict';
import { mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, it } from '@jest/globals';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { build } from 'esbuild';
import { LAMBDA_BUNDLE, LAMBDA_ESBUILD_OPTIONS } from '../../lib/bundling.js';

const root = fileURLToPath(new URL('../../', import.meta.url));
// Inside the repository, like test/integration/bundles.test.ts, so that external imports would resolve.
const outdir = join(root, 'node_modules', '.cache', `tokengate-keepnames-${process.pid}`);

async function bundleJwks(name: string, keepNames: boolean): Promise<string> {
  const outfile = join(outdir, `${name}.mjs`);
  await build({
    entryPoints: [join(root, 'lambdas', 'jwks', 'handler.ts')],
    ...LAMBDA_ESBUILD_OPTIONS,
    outfile,
    keepNames,
  });
  return outfile;
}

/** Imports a bundle the way the Lambda runtime initialises it, and returns what its init threw. */
async function initError(file: string): Promise<Error> {
  try {
    await import(pathToFileURL(file).href);
  } catch (err) {
    assert.ok(err instanceof Error);
    return err;
  }
  assert.fail(`${file} initialised with a bad JWKS_JSON`);
}

describe('Lambda bundles', () => {
  mkdirSync(outdir, { recursive: true });
  afterAll(() => rmSync(outdir, { recursive: true, force: true }));

  it('are minified with keepNames, so a configuration error is logged as ConfigError', async () => {
    assert.equal(LAMBDA_BUNDLE.minify, true);
    assert.equal(LAMBDA_BUNDLE.keepNames, true);
    // The jwks function reads JWKS_JSON at init (as Lambda runs the module): not JSON is a ConfigError.
    process.env.JWKS_JSON = 'not json';
    delete process.env.CORS_ALLOW_ORIGINS;

    const err = await initError(await bundleJwks('as-deployed', LAMBDA_BUNDLE.keepNames));
    assert.equal(err.name, 'ConfigError');
    assert.match(String(err), /^ConfigError: JWKS_JSON is not JSON/);
    assert.equal(err.constructor.name, 'ConfigError');

    const control = await initError(await bundleJwks('without-keep-names', false));
    assert.match(control.message, /JWKS_JSON is not JSON/);
    assert.notEqual(control.name, 'ConfigError', 'the minifier renamed nothing: the control proves nothing');
  });
});
