/**
 * The OpenAPI document reaches people: `npm start` serves it as `GET /openapi.json` (public, no token) and
 * `npm run openapi` writes it to a file; both are the document lib/openapi.ts builds and both validate.
 */
import { describe, test, expect, beforeAll, afterAll } from '@jest/globals';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Validator } from '@seriousme/openapi-schema-validator';
import shop from '../../examples/shop/app.js';
import { buildOpenApi } from '../../lib/openapi.js';
import { startTestStack, type TestStack } from '../helpers/local.js';

const run = promisify(execFile);

describe('GET /openapi.json on the local gateway', () => {
  let h: TestStack;
  beforeAll(async () => {
    h = await startTestStack();
  });
  afterAll(async () => {
    await h?.close();
  });

  test('200, public, a valid OpenAPI 3.1 document naming every route and its permission', async () => {
    const res = await fetch(`${h.url}/openapi.json`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('application/json');
    const doc = (await res.json()) as { openapi: string; paths: Record<string, Record<string, { 'x-tokengate-permission': string | null }>> };
    expect(doc.openapi).toBe('3.1.0');
    expect(doc.paths['/auth/login']?.post?.['x-tokengate-permission']).toBeNull();
    expect(doc.paths['/orders/{id}']?.delete?.['x-tokengate-permission']).toBe('orders:admin');
    const result = await new Validator().validate(doc);
    expect(result.errors).toBeUndefined();
    expect(result.valid).toBe(true);
  });

  test('other methods on the path are not routes (403 Missing Authentication Token, as API Gateway)', async () => {
    const res = await fetch(`${h.url}/openapi.json`, { method: 'POST', body: '{}' });
    expect(res.status).toBe(403);
    expect(await res.json()).toEqual({ message: 'Missing Authentication Token' });
  });
});

describe('npm run openapi', () => {
  test('writes the sample app document to --out', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tokengate-openapi-'));
    try {
      const out = join(dir, 'openapi.json');
      const { stdout } = await run(process.execPath, ['--import', 'tsx', 'bin/openapi.ts', 'examples/shop/app.ts', '--out', out, '--title', 'Shop', '--version', '3.0.0']);
      expect(stdout).toContain('wrote');
      const written: unknown = JSON.parse(readFileSync(out, 'utf8'));
      expect(written).toEqual(JSON.parse(JSON.stringify(buildOpenApi(shop, { title: 'Shop', version: '3.0.0' }))));
      expect((await new Validator().validate(written as Record<string, unknown>)).valid).toBe(true);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('refuses a module whose default export is not an app declaration', async () => {
    await expect(run(process.execPath, ['--import', 'tsx', 'bin/openapi.ts', 'lib/bundling.ts', '--out', '-'])).rejects.toMatchObject({
      code: 1,
      stderr: expect.stringContaining('default export must be the app declaration'),
    });
  });
});
