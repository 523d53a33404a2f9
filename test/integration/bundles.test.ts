/**
 * The deployed code path: each lambdas/<fn>/handler.ts (and the sample app's orders service,
 * examples/shop/orders/handler.ts, with its own table) bundled by esbuild exactly as the stack bundles it,
 * initialised from environment variables alone (as Lambda does), then invoked with sam-style events against
 * the embedded store. This is what proves the wiring (handler.ts + lambdas/wiring.ts), which the other tests
 * bypass by building handlers from their app.ts factories.
 */
import { afterAll, beforeAll, test } from '@jest/globals';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { build } from 'esbuild';
import type { APIGatewayAuthorizerResult, APIGatewayProxyEvent, APIGatewayProxyResult, APIGatewayTokenAuthorizerEvent } from 'aws-lambda';
import { authorizerRoutesDefine, LAMBDA_ESBUILD_OPTIONS } from '../../lib/bundling.js';
import { routes } from '../helpers/demo-routes.js';
import { ensureKeyFile, LocalKeySigner } from '../../lambdas/adapters/local-signer.js';
import { DynamoUserStore } from '../../lambdas/adapters/dynamo/user-store.js';
import { ManualClock } from '../../lambdas/core/clock.js';
import { PasswordHasher } from '../../lambdas/core/passwords.js';
import { UserAdmin } from '../../lambdas/core/users.js';
import { startTestTable, type TestTable } from '../helpers/dynamo.js';
import shop from '../../examples/shop/app.js';
import { ensureServiceTable } from '../../lib/local/app-services.js';

const root = fileURLToPath(new URL('../../', import.meta.url));
// Inside the repo so that the external @aws-sdk/* imports resolve from node_modules, like the runtime's copy.
const outdir = join(root, 'node_modules', '.cache', `tokengate-bundles-${process.pid}`);
const keyDir = mkdtempSync(join(tmpdir(), 'tg-bundles-'));
const FUNCTIONS = ['login', 'refresh', 'logout', 'jwks', 'orders', 'authorizer'] as const;
type Fn = (typeof FUNCTIONS)[number];
type ProxyFn = (e: APIGatewayProxyEvent) => Promise<APIGatewayProxyResult>;
const loaded = {} as Record<Fn, unknown>;
let table: TestTable;

const ev = (name: string): APIGatewayProxyEvent =>
  JSON.parse(readFileSync(new URL(`../events/${name}.json`, import.meta.url), 'utf8')) as APIGatewayProxyEvent;

beforeAll(async () => {
  mkdirSync(outdir, { recursive: true });
  await build({
    entryPoints: Object.fromEntries(
      FUNCTIONS.map((f) => [f, f === 'orders' ? join(root, 'examples', 'shop', 'orders', 'handler.ts') : join(root, 'lambdas', f, 'handler.ts')]),
    ),
    ...LAMBDA_ESBUILD_OPTIONS,
    outdir,
    outExtension: { '.js': '.mjs' },
    // The authorizer's route table is compiled in, as the construct bundles it (lib/bundling.ts).
    define: authorizerRoutesDefine(routes),
  });

  table = await startTestTable('tokengate-bundles');
  const keyFile = ensureKeyFile(join(keyDir, 'key.pem'));
  const clock = new ManualClock(Date.now());
  await new UserAdmin(new DynamoUserStore(table), new PasswordHasher({ ln: 14, r: 8, p: 1 }), clock).add('alice', 'alice-password-1', [
    'orders:read',
    'orders:write',
  ]);
  // The sample orders service's own table, as the app declares it.
  await ensureServiceTable(table.client, 'orders-bundles', shop.services.orders.tables!.ORDERS_TABLE!);
  // Only what the stack sets (lib/constructs/function-env.ts), with the local signer in place of KMS; the sample
  // service's table name, and the embedded store and credentials for its plain SDK client.
  Object.assign(process.env, {
    ORDERS_TABLE: 'orders-bundles',
    AWS_ENDPOINT_URL_DYNAMODB: table.endpoint,
    AWS_ACCESS_KEY_ID: 'local',
    AWS_SECRET_ACCESS_KEY: 'local',
    TABLE_NAME: table.tableName,
    DYNAMODB_ENDPOINT: table.endpoint,
    AWS_REGION: 'local',
    TOKEN_ISSUER: 'https://issuer.test',
    TOKEN_AUDIENCE: 'tokengate-api',
    JWKS_JSON: JSON.stringify(await LocalKeySigner.fromFile(keyFile).publicJwks()),
    SIGNER: 'local',
    SIGNING_KEY_FILE: keyFile,
    PASSWORD_SCRYPT_LN: '14',
    POWERTOOLS_METRICS_DISABLED: 'true',
    POWERTOOLS_LOG_LEVEL: 'ERROR',
  });
  for (const f of FUNCTIONS) loaded[f] = ((await import(pathToFileURL(join(outdir, `${f}.mjs`)).href)) as { handler: unknown }).handler;
});

afterAll(async () => {
  await table.close();
  rmSync(outdir, { recursive: true, force: true });
  rmSync(keyDir, { recursive: true, force: true });
});

test('every bundle initialises from the environment and exports a handler', () => {
  for (const f of FUNCTIONS) assert.equal(typeof loaded[f], 'function', f);
});

test('login → authorizer → orders → refresh → logout, through the bundled functions', async () => {
  const login = await (loaded.login as ProxyFn)(ev('login'));
  assert.equal(login.statusCode, 200, login.body);
  const tokens = JSON.parse(login.body) as { access_token: string; refresh_token: string };

  const authorize = loaded.authorizer as (e: APIGatewayTokenAuthorizerEvent) => Promise<APIGatewayAuthorizerResult>;
  const tokenEvent = JSON.parse(readFileSync(new URL('../events/authorizer-token.json', import.meta.url), 'utf8')) as APIGatewayTokenAuthorizerEvent;
  const policy = await authorize({ ...tokenEvent, authorizationToken: `Bearer ${tokens.access_token}` });
  assert.equal(policy.principalId, 'alice');
  assert.equal(policy.policyDocument.Statement[0]?.Effect, 'Allow');
  await assert.rejects(authorize({ ...tokenEvent, authorizationToken: 'Bearer a.b.c' }), { message: 'Unauthorized' });

  // API Gateway passes the context values as strings.
  const context = Object.fromEntries(Object.entries(policy.context ?? {}).map(([k, v]) => [k, String(v)]));
  const listEvent = ev('orders-list');
  const list = await (loaded.orders as ProxyFn)({ ...listEvent, requestContext: { ...listEvent.requestContext, authorizer: { principalId: policy.principalId, ...context } } });
  assert.equal(list.statusCode, 200);
  assert.equal((JSON.parse(list.body) as { sub: string }).sub, 'alice');

  const jwks = await (loaded.jwks as ProxyFn)(ev('jwks'));
  assert.equal(jwks.statusCode, 200);

  const refresh = await (loaded.refresh as ProxyFn)({ ...ev('refresh'), body: JSON.stringify({ refresh_token: tokens.refresh_token }) });
  assert.equal(refresh.statusCode, 200, refresh.body);
  const rotated = JSON.parse(refresh.body) as { access_token: string; refresh_token: string };
  assert.notEqual(rotated.refresh_token, tokens.refresh_token);

  const logoutEvent = ev('logout');
  const logout = await (loaded.logout as ProxyFn)({
    ...logoutEvent,
    headers: { ...logoutEvent.headers, Authorization: `Bearer ${rotated.access_token}` },
    body: JSON.stringify({ refresh_token: rotated.refresh_token }),
  });
  assert.equal(logout.statusCode, 204, logout.body);
  const again = await (loaded.refresh as ProxyFn)({ ...ev('refresh'), body: JSON.stringify({ refresh_token: rotated.refresh_token }) });
  assert.equal(again.statusCode, 401);
});
