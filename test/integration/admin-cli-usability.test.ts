/**
 * The admin CLI as a newcomer meets it (issue 11): --help exits 0, set-permissions without a list refuses instead
 * of wiping every permission, a permission no route uses is refused (--force stores it, with a warning), a store
 * that cannot be reached is named with the reason, and `--password-stdin` on a terminal asks for the password.
 * The CLI runs as a child process, on a data dir of its own.
 */
import { afterAll, beforeAll, expect, test } from '@jest/globals';
import { execFile, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createDynamoClient } from '../../lambdas/adapters/dynamo/client.js';
import { DynamoUserStore } from '../../lambdas/adapters/dynamo/user-store.js';
import { PasswordHasher } from '../../lambdas/core/passwords.js';
import { startEmbeddedDynamo } from '../../lib/local/dynamo-server.js';
import { LOCAL_TABLE } from '../../lib/local/stack.js';

const root = fileURLToPath(new URL('../..', import.meta.url));
const work = mkdtempSync(join(tmpdir(), 'tokengate-cli-'));
const dataDir = join(work, 'data');
afterAll(() => rmSync(work, { recursive: true, force: true }));

function cli(args: string[], env: Record<string, string> = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      ['--import', 'tsx', 'bin/users.ts', ...args],
      { cwd: root, env: { ...process.env, LOCAL_DATA_DIR: dataDir, PASSWORD_SCRYPT_LN: '14', ...env }, timeout: 60_000 },
      (err, stdout, stderr) => resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout, stderr }),
    );
  });
}

const permissionsOf = async (user: string): Promise<string> => {
  const list = await cli(['list']);
  return list.stdout.split('\n').find((l) => l.startsWith(`${user} `))?.split(/\s+/).slice(2).join(' ') ?? '(missing)';
};

beforeAll(async () => {
  // A fresh data dir: set up as npm start sets it up (demo users).
  expect((await cli(['list'])).code).toBe(0);
}, 60_000);

test('--help (and help) print the usage and exit 0; no command is a usage error (2)', async () => {
  for (const args of [['--help'], ['-h'], ['help'], ['add', '--help']]) {
    const r = await cli(args);
    expect(`${args.join(' ')} → ${r.code}`).toBe(`${args.join(' ')} → 0`);
    expect(r.stdout).toMatch(/^usage: npm run users -- <command>/);
  }
  const none = await cli([]);
  expect(none.code).toBe(2);
  expect(none.stderr).toMatch(/usage:/);
});

test('set-permissions without a list refuses and changes nothing; --permissions "" removes them on purpose', async () => {
  const before = await permissionsOf('bob');
  const r = await cli(['set-permissions', 'bob']);
  expect(r.code).toBe(2);
  expect(r.stderr).toMatch(/set-permissions needs the permissions/);
  expect(await permissionsOf('bob')).toBe(before);
  expect((await cli(['add', 'dora', '--password', 'dora-password-1', '--permissions', 'orders:read'])).code).toBe(0);
  expect((await cli(['set-permissions', 'dora', '--permissions', ''])).code).toBe(0);
  expect(await permissionsOf('dora')).toBe('');
}, 60_000);

test('a permission no route uses is refused; --force stores it with a warning; wildcards that grant a route pass', async () => {
  const typo = await cli(['set-permissions', 'bob', 'orders:reed orders:read']);
  expect(typo.code).toBe(2);
  expect(typo.stderr).toMatch(/refused orders:reed: no route of .*examples\/shop\/app\.ts needs it \(the routes use: orders:read orders:write orders:admin/);
  expect(await permissionsOf('bob')).not.toMatch(/reed/);
  const add = await cli(['add', 'erin', '--password', 'erin-password-1', '--permissions', 'billing:read']);
  expect(add.code).toBe(2);
  const forced = await cli(['set-permissions', 'bob', 'orders:reed orders:read', '--force']);
  expect(forced.code).toBe(0);
  expect(forced.stderr).toMatch(/warning: storing orders:reed/);
  expect(await permissionsOf('bob')).toBe('orders:read orders:reed');
  expect((await cli(['set-permissions', 'bob', 'orders:*'])).code).toBe(0);
  // Another app declaration knows other permissions.
  const team = await cli(['set-permissions', 'bob', 'orders:read', '--app', 'test/fixtures/team-app/app.ts']);
  expect(team.code).toBe(0);
  expect((await cli(['set-permissions', 'bob', 'orders:write', '--app', 'test/fixtures/team-app/app.ts'])).code).toBe(2);
}, 90_000);

test('a store that cannot be reached is named, with the reason', async () => {
  const deployed = await cli(['list', '--table', 'users', '--region', 'eu-west-1', '--endpoint', 'http://127.0.0.1:9'], { AWS_ACCESS_KEY_ID: 'x', AWS_SECRET_ACCESS_KEY: 'y' });
  expect(deployed.code).toBe(1);
  expect(deployed.stderr).toMatch(/store unavailable: list users .*ECONNREFUSED 127\.0\.0\.1:9.*\(table users in eu-west-1 at http:\/\/127\.0\.0\.1:9\)/);
  const local = await cli(['list', '--endpoint', 'http://127.0.0.1:9']);
  expect(local.code).toBe(1);
  expect(local.stderr).toMatch(/the store at http:\/\/127\.0\.0\.1:9 does not answer: .*ECONNREFUSED/);
}, 60_000);

test('set-password --password-stdin on a terminal asks twice without echo (a pseudo-terminal via script(1))', async () => {
  // script(1) gives the CLI a terminal; the answers are typed once each prompt has appeared.
  const child = spawn('script', ['-qec', `${process.execPath} --import tsx bin/users.ts set-password bob --password-stdin`, '/dev/null'], {
    cwd: root,
    env: { ...process.env, LOCAL_DATA_DIR: dataDir, PASSWORD_SCRYPT_LN: '14' },
  });
  let out = '';
  const seen = (re: RegExp) => new Promise<void>((resolve) => {
    const check = () => (re.test(out) ? resolve() : setTimeout(check, 20));
    check();
  });
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<number>((resolve) => child.on('exit', (code) => resolve(code ?? 1)));
  await seen(/New password for bob: /);
  child.stdin.write('bob-new-password-2\r');
  await seen(/Again: /);
  child.stdin.write('bob-new-password-2\r');
  expect(await exited).toBe(0);
  expect(out).toMatch(/password of bob changed/);
  expect(out).not.toContain('bob-new-password-2');
  // The stored hash is the new password's (and no longer the old one's).
  const store = await startEmbeddedDynamo({ path: join(dataDir, 'dynamodb') });
  const client = createDynamoClient({ region: 'local', endpoint: store.endpoint });
  try {
    const bob = await new DynamoUserStore({ client, tableName: LOCAL_TABLE }).get('bob');
    const hasher = new PasswordHasher({ ln: 14, r: 8, p: 1 });
    expect(await hasher.verify('bob-new-password-2', bob?.passwordHash)).toBe(true);
    expect(await hasher.verify('bob-password-1', bob?.passwordHash)).toBe(false);
  } finally {
    client.destroy();
    await store.close();
  }
}, 60_000);
