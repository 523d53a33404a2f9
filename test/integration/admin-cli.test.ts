/**
 * The admin CLI (bin/users.ts) refuses a permission set whose access tokens could be longer than the verifier
 * accepts, before it opens any store (issue 9.10). The CLI runs as a child process on an empty data dir.
 */
import { test } from '@jest/globals';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { testContext } from '../helpers/test-context.js';

// The test context: t.after(fn) cleans up after the current test (test/helpers/test-context.ts).
const t = testContext();

const root = fileURLToPath(new URL('../..', import.meta.url));

function cli(dataDir: string, args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      ['--import', 'tsx', 'bin/users.ts', ...args],
      { cwd: root, env: { ...process.env, LOCAL_DATA_DIR: dataDir, TOKEN_ISSUER: '', TOKEN_AUDIENCE: '' }, timeout: 60_000 },
      (err, stdout, stderr) => resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout, stderr }),
    );
  });
}

const permissions = (n: number) => Array.from({ length: n }, (_, i) => `resource-${i}:${'a'.repeat(40)}`).join(' ');

test('add and set-permissions refuse a permission set too large for an access token, and touch no store', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tokengate-cli-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const runs = await Promise.all([
    cli(dir, ['set-permissions', 'alice', permissions(150)]),
    cli(dir, ['add', 'carol', '--password', 'carol-password-1', '--permissions', permissions(150)]),
  ]);
  for (const r of runs) {
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stderr, /too many permissions: 150 would make access tokens of up to \d+ characters, more than the 8192 verifiers accept/);
    assert.equal(r.stdout, '');
  }
  assert.equal(readdirSync(dir).length, 0, 'nothing was created in the data dir');
});
