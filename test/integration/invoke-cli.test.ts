/**
 * `npm run invoke` and `npm run event` as a person runs them (issue 11): the README's "Local testing with events"
 * block verbatim on a fresh data dir, the same through a running `npm start`, a team's own service, --bundle, and
 * the failure modes. Every command runs as a child process.
 */
import { afterAll, expect, test } from '@jest/globals';
import { execFile, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createDynamoClient } from '../../lambdas/adapters/dynamo/client.js';
import { DynamoUserStore } from '../../lambdas/adapters/dynamo/user-store.js';
import { startEmbeddedDynamo } from '../../lib/local/dynamo-server.js';
import { DEMO_USERS, LOCAL_TABLE, startLocalStack } from '../../lib/local/stack.js';

const root = fileURLToPath(new URL('../../', import.meta.url));
const dirs: string[] = [];
const freshDir = () => {
  const d = mkdtempSync(join(tmpdir(), 'tokengate-invoke-'));
  dirs.push(d);
  return join(d, 'data');
};
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/** A shell command line, as typed, in the repo. */
function sh(line: string, env: Record<string, string>): Promise<Run> {
  return new Promise((resolve) => {
    execFile('bash', ['-o', 'pipefail', '-c', line], { cwd: root, env: { ...process.env, ...env }, timeout: 120_000, maxBuffer: 8 << 20 }, (err, stdout, stderr) =>
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout, stderr }),
    );
  });
}

/** `node --import tsx bin/<tool>.ts …` with stdin. */
function tool(name: string, args: string[], env: Record<string, string>, stdin = ''): Promise<Run> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', `bin/${name}.ts`, ...args], { cwd: root, env: { ...process.env, ...env } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('close', (code) => resolve({ code: code ?? 1, stdout, stderr }));
    child.stdin.end(stdin);
  });
}

/** The command lines of the README section's first sh block (continuations joined, comments dropped). */
function readmeCommands(): string[] {
  const readme = readFileSync(join(root, 'README.md'), 'utf8');
  const section = readme.slice(readme.indexOf('## Local testing with events'));
  const block = /```sh\n([\s\S]*?)```/.exec(section)?.[1] ?? '';
  return block
    .replace(/\\\n/g, '')
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '' && !l.startsWith('#'));
}

const parse = (r: Run): any => {
  try {
    return JSON.parse(r.stdout);
  } catch {
    throw new Error(`stdout is not one JSON document (exit ${r.code}):\n${r.stdout}\nstderr:\n${r.stderr}`);
  }
};

test("the README's 'Local testing with events' block works verbatim on a fresh data dir", async () => {
  const commands = readmeCommands();
  expect(commands).toHaveLength(4);
  const env = { LOCAL_DATA_DIR: freshDir() };

  const allow = await sh(commands[0]!, env);
  expect(allow.code).toBe(0);
  const policy = parse(allow);
  expect(policy.principalId).toBe('alice');
  expect(policy.policyDocument.Statement[0].Effect).toBe('Allow');
  expect(policy.context.sub).toBe('alice');
  // The function's logs went to stderr (Powertools' metrics line among them), not into the result.
  expect(allow.stderr).toMatch(/AuthorizerAllow/);

  const refused = await sh(commands[1]!, env);
  expect(refused.code).toBe(1);
  expect(parse(refused)).toEqual({ errorType: 'Error', errorMessage: 'Unauthorized' });

  const login = await sh(commands[2]!, env);
  expect(login.code).toBe(0);
  const res = parse(login);
  expect(res.statusCode).toBe(200);
  const tokens = JSON.parse(res.body);
  expect(tokens.token_type).toBe('Bearer');
  expect(typeof tokens.access_token).toBe('string');
  expect(typeof tokens.refresh_token).toBe('string');

  const orders = await sh(commands[3]!, env);
  expect(orders.code).toBe(0);
  const list = parse(orders);
  expect(list.statusCode).toBe(200);
  expect(JSON.parse(list.body).sub).toBe('bob');

  // The fresh data dir was set up as npm start sets it up: the key, the table, the demo users.
  expect(existsSync(join(env.LOCAL_DATA_DIR, 'signing-key.pem'))).toBe(true);
  expect(existsSync(join(env.LOCAL_DATA_DIR, 'dynamodb.pid'))).toBe(false);
  const store = await startEmbeddedDynamo({ path: join(env.LOCAL_DATA_DIR, 'dynamodb') });
  const client = createDynamoClient({ region: 'local', endpoint: store.endpoint });
  try {
    const users = await new DynamoUserStore({ client, tableName: LOCAL_TABLE }).list();
    expect(users.map((u) => [u.username, u.permissions]).sort()).toEqual(DEMO_USERS.map((u) => [u.username, [...u.permissions].sort()]).sort());
  } finally {
    client.destroy();
    await store.close();
  }
}, 240_000);

test('with npm start running on the data dir, event and invoke go through its store; its gateway accepts the token', async () => {
  const dataDir = freshDir();
  const stack = await startLocalStack({ port: 0, env: { LOCAL_DATA_DIR: dataDir, PASSWORD_SCRYPT_LN: '14', ACCESS_LOG: 'off' } });
  try {
    const env = { LOCAL_DATA_DIR: dataDir, PORT: String(stack.port) };
    const event = await tool('event', ['authorizer', '--user', 'alice', '--method', 'GET', '--path', '/orders'], env);
    expect(event.code).toBe(0);
    const token = (JSON.parse(event.stdout) as { authorizationToken: string }).authorizationToken;
    // The session is in the running store and the issuer is the running gateway's: it lets the token through.
    const res = await fetch(`${stack.url}/orders`, { headers: { Authorization: token } });
    expect(res.status).toBe(200);
    expect(((await res.json()) as { sub: string }).sub).toBe('alice');

    const invoked = await tool('invoke', ['authorizer', '-'], env, event.stdout);
    expect(invoked.code).toBe(0);
    expect(invoked.stderr).toMatch(/store of the running npm start/);
    expect(JSON.parse(invoked.stdout).policyDocument.Statement[0].Effect).toBe('Allow');
  } finally {
    await stack.close();
  }
}, 120_000);

test("a team's own service: resolved from its app declaration (entry, exportName), logs on stderr, errors as SAM shows them", async () => {
  const env = { LOCAL_DATA_DIR: freshDir(), PASSWORD_SCRYPT_LN: '14' };
  const app = 'test/fixtures/team-app/app.ts';
  const event = await tool('event', ['proxy', '--app', app, '--method', 'GET', '--path', '/greetings/ada', '--user', 'bob'], env);
  expect(event.code).toBe(0);
  const e = JSON.parse(event.stdout);
  expect([e.resource, e.pathParameters, e.requestContext.authorizer.principalId, e.requestContext.authorizer.sub]).toEqual(['/greetings/{name}', { name: 'ada' }, 'bob', 'bob']);
  expect(typeof e.requestContext.authorizer.integrationLatency).toBe('number');
  expect(typeof e.requestContext.authorizer.exp).toBe('string');

  const ok = await tool('invoke', ['greeter', '-', '--app', app], env, event.stdout);
  expect(ok.code).toBe(0);
  expect(ok.stderr).toMatch(/greeter loaded/);
  expect(ok.stdout).not.toMatch(/greeter loaded/);
  const body = JSON.parse(JSON.parse(ok.stdout).body);
  expect(body).toEqual({ hello: 'ada', from: 'bob', scope: 'inventory:read orders:read', table: LOCAL_TABLE, api: 'http://127.0.0.1:3000' });

  const boom = await tool('invoke', ['greeter', '-', '--app', app], env, event.stdout.replaceAll('"ada"', '"boom"'));
  expect(boom.code).toBe(1);
  expect(JSON.parse(boom.stdout)).toEqual({ errorType: 'TypeError', errorMessage: 'greeter failed on purpose' });
  expect(boom.stderr).toMatch(/TypeError: greeter failed on purpose/);

  const unknown = await tool('invoke', ['nope', '--app', app], env);
  expect(unknown.code).toBe(1);
  expect(unknown.stderr).toMatch(/no function "nope": tokengate's are authorizer, login, refresh, logout, jwks; the services of .*app\.ts are greeter/);
}, 180_000);

test('--bundle runs the esbuild bundle the stack deploys; bad input is refused plainly; --help exits 0', async () => {
  const env = { LOCAL_DATA_DIR: freshDir(), PASSWORD_SCRYPT_LN: '14' };
  const jwks = await tool('invoke', ['jwks', 'test/events/jwks.json', '--bundle'], env);
  expect(jwks.code).toBe(0);
  expect(jwks.stderr).toMatch(/bundled/);
  expect(JSON.parse(JSON.parse(jwks.stdout).body).keys).toHaveLength(1);

  const notJson = join(dirs[dirs.length - 1]!, 'bad.json');
  writeFileSync(notJson, '{"type":');
  const bad = await tool('invoke', ['authorizer', notJson], env);
  expect(bad.code).toBe(2);
  expect(bad.stderr).toMatch(/is not JSON/);
  expect(bad.stdout).toBe('');

  const noUser = await tool('event', ['proxy', '--method', 'GET', '--path', '/nowhere'], env);
  expect(noUser.code).toBe(1);
  expect(noUser.stderr).toMatch(/no route GET \/nowhere/);

  for (const name of ['invoke', 'event', 'sam-env']) {
    const help = await tool(name, ['--help'], env);
    expect(`${name} ${help.code}`).toBe(`${name} 0`);
    expect(help.stdout).toMatch(/^usage: npm run /);
  }
}, 180_000);
