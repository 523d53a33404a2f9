/**
 * The route table really is compiled into the deployed authorizer. The construct is synthesized with bundling on,
 * so aws-cdk-lib's NodejsFunction runs esbuild with `--define:process.env.TOKENGATE_ROUTES=<JSON string literal>`
 * exactly as `cdk deploy` would (local bundling: one argument to a spawned esbuild, no shell). The authorizer
 * asset it produced is then imported and run from its environment alone, as Lambda runs it, against the embedded
 * store, with signed tokens: a team route is allowed, the route table is the team's (not the demo's), and the
 * table is nowhere in the environment. A bundle built without the define refuses to start (fail closed).
 */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { App, Stack, type CfnElement, type CfnResource } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import type { APIGatewayAuthorizerResult, APIGatewayTokenAuthorizerEvent } from 'aws-lambda';
import { build } from 'esbuild';
import { Tokengate, type Route } from '../../lib/index.js';
import { LAMBDA_ESBUILD_OPTIONS } from '../../lib/bundling.js';
import { DynamoSessionStore } from '../../lambdas/adapters/dynamo/session-store.js';
import { DynamoUserStore } from '../../lambdas/adapters/dynamo/user-store.js';
import { startTestTable, type TestTable } from '../helpers/dynamo.js';
import { goodClaims, jwksOf, newTestKey, signEs256 } from '../helpers/jwt.js';
import { baseContext, teamFunction } from './support.js';

type Authorize = (e: APIGatewayTokenAuthorizerEvent) => Promise<APIGatewayAuthorizerResult>;

const root = fileURLToPath(new URL('../../', import.meta.url));
const outdir = mkdtempSync(join(tmpdir(), 'tg-authorizer-asset-'));
const scratch = join(root, 'node_modules', '.cache', `tokengate-authorizer-bundle-${process.pid}`);
const PREFIX = 'arn:aws:execute-api:eu-central-1:123456789012:a1b2c3d4e5/prod/';

const WIDGET_ROUTES: Route<'widgets'>[] = [
  { method: 'GET', path: '/widgets/{id}', permission: 'widgets:read', handler: 'widgets' },
  { method: 'POST', path: '/widgets', permission: 'widgets:write', handler: 'widgets' },
  { method: 'GET', path: '/widgets/{id}/parts', permission: 'widgets:read', handler: 'widgets' },
];

let table: TestTable;
let authorize: Authorize;
let environment: Record<string, unknown>;
let assetFile: string;
let jwksAssetFile: string;
const key = newTestKey();

beforeAll(async () => {
  // Bundling on for this stack only: the construct's functions are built by aws-cdk-lib, as in `cdk synth`.
  const app = new App({ outdir, context: { ...baseContext(), 'aws:cdk:bundling-stacks': ['Bundled'] } });
  const stack = new Stack(app, 'Bundled');
  const tokengate = new Tokengate(stack, 'Tokengate', { routes: WIDGET_ROUTES, integrations: { widgets: teamFunction(stack, 'Widgets') } });
  const cfn = tokengate.functions.authorizer.fn.node.defaultChild as CfnResource;
  type Fn = { Properties?: { Environment?: { Variables?: Record<string, unknown> }; Code?: { S3Key?: string } } };
  const json = Template.fromStack(stack).toJSON() as { Resources: Record<string, Fn> };
  const props = json.Resources[stack.getLogicalId(cfn as CfnElement)]?.Properties;
  environment = props?.Environment?.Variables ?? {};
  assert.ok(Object.keys(environment).length > 0);
  // The asset CDK staged (and will upload) for this function: `<hash>.zip` is built from `asset.<hash>/`.
  const hash = /^([0-9a-f]{64})\.zip$/.exec(props?.Code?.S3Key ?? '')?.[1];
  assert.ok(hash, JSON.stringify(props?.Code));
  assetFile = join(outdir, `asset.${hash}`, 'index.mjs');
  const jwksCfn = tokengate.functions.jwks.fn.node.defaultChild as CfnResource;
  const jwksHash = /^([0-9a-f]{64})\.zip$/.exec(json.Resources[stack.getLogicalId(jwksCfn as CfnElement)]?.Properties?.Code?.S3Key ?? '')?.[1];
  assert.ok(jwksHash);
  jwksAssetFile = join(outdir, `asset.${jwksHash}`, 'index.mjs');

  table = await startTestTable('tokengate-authorizer-bundle');
  const now = Date.now();
  await new DynamoUserStore(table).create({ username: 'alice', passwordHash: '$scrypt$x', permissions: [], status: 'active', createdAt: 0, sessionsValidAfter: 0 });
  await new DynamoSessionStore(table).create(
    { sid: 's-1', username: 'alice', createdAt: now, expiresAt: now + 3_600_000, generation: 0, refreshHash: 'h-1' },
    { hash: 'h-1', sid: 's-1', generation: 0, expiresAt: now + 3_600_000 },
  );
  // What the stack sets (JWKS_JSON is a deploy-time value: here the test key's), pointed at the embedded store.
  delete process.env.TOKENGATE_ROUTES;
  Object.assign(process.env, {
    TABLE_NAME: table.tableName,
    DYNAMODB_ENDPOINT: table.endpoint,
    AWS_REGION: 'local',
    TOKEN_ISSUER: 'https://issuer.test',
    TOKEN_AUDIENCE: 'tokengate-api',
    JWKS_JSON: JSON.stringify(jwksOf(key)),
    REVOCATION_CACHE_TTL_SECONDS: '0',
    CLOCK_LEEWAY_SECONDS: '5',
    POWERTOOLS_METRICS_DISABLED: 'true',
    POWERTOOLS_LOG_LEVEL: 'SILENT',
  });
  authorize = ((await import(pathToFileURL(assetFile).href)) as { handler: Authorize }).handler;
}, 120_000);

afterAll(async () => {
  await table?.close();
  rmSync(outdir, { recursive: true, force: true });
  rmSync(scratch, { recursive: true, force: true });
});

const tokenWith = (scope: string) =>
  `Bearer ${signEs256(key, { alg: 'ES256', typ: 'at+jwt', kid: key.jwk.kid }, goodClaims(Math.floor(Date.now() / 1000), { sid: 's-1', sub: 'alice', scope }))}`;

describe('the authorizer as aws-cdk-lib bundles it', () => {
  it('has the route table in its code and not in its environment', () => {
    const code = readFileSync(assetFile, 'utf8');
    assert.ok(code.includes('widgets:write') && code.includes('/widgets/{id}/parts'));
    assert.ok(!code.includes('process.env.TOKENGATE_ROUTES'), 'the define replaced the expression');
    assert.ok(!('TOKENGATE_ROUTES' in environment));
    assert.ok(!JSON.stringify(environment).includes('/widgets'));
  });

  it("allows a team route for a caller holding its permission, every route that permission grants, and nothing else", async () => {
    const result = await authorize({ type: 'TOKEN', authorizationToken: tokenWith('widgets:read'), methodArn: `${PREFIX}GET/widgets/42` });
    assert.equal(result.principalId, 'alice');
    assert.deepEqual(result.policyDocument.Statement, [
      { Action: 'execute-api:Invoke', Effect: 'Allow', Resource: [`${PREFIX}GET/widgets/*`, `${PREFIX}GET/widgets/*/parts`] },
    ]);
    assert.equal(result.context?.scope, 'widgets:read');
  });

  it("knows only the team's table: the demo's permissions grant nothing (an explicit Deny, 403)", async () => {
    const result = await authorize({ type: 'TOKEN', authorizationToken: tokenWith('orders:read orders:write'), methodArn: `${PREFIX}GET/widgets/42` });
    assert.equal(result.policyDocument.Statement[0]?.Effect, 'Deny');
  });

  it('refuses a bad token with Unauthorized (401)', async () => {
    await assert.rejects(authorize({ type: 'TOKEN', authorizationToken: 'Bearer a.b.c', methodArn: `${PREFIX}GET/widgets/42` }), /^Error: Unauthorized$/);
  });
});

describe('the JWKS function as aws-cdk-lib bundles it', () => {
  type Proxy = (event: { resource: string; headers: Record<string, string> }) => Promise<{ statusCode: number; body: string }>;
  it("serves GET /openapi.json: the OpenAPI document of the team's routes, compiled into its code", async () => {
    const handler = ((await import(pathToFileURL(jwksAssetFile).href)) as { handler: Proxy }).handler;
    const doc = await handler({ resource: '/openapi.json', headers: {} });
    expect(doc.statusCode).toBe(200);
    const parsed = JSON.parse(doc.body) as { openapi: string; paths: Record<string, unknown> };
    expect(parsed.openapi).toMatch(/^3\.1\./);
    expect(Object.keys(parsed.paths).sort()).toEqual(['/.well-known/jwks.json', '/auth/login', '/auth/logout', '/auth/refresh', '/openapi.json', '/widgets', '/widgets/{id}', '/widgets/{id}/parts']);
    // And the keys on their own path, as before.
    const keys = JSON.parse((await handler({ resource: '/.well-known/jwks.json', headers: {} })).body) as { keys: { kid: string }[] };
    expect(keys.keys.map((k) => k.kid)).toEqual([key.jwk.kid]);
  });
});

describe('an authorizer bundle without the route table', () => {
  it('refuses to start (every call then fails closed), with a ConfigError that says why', async () => {
    mkdirSync(scratch, { recursive: true });
    const outfile = join(scratch, 'authorizer.mjs');
    await build({
      entryPoints: [join(root, 'lambdas', 'authorizer', 'handler.ts')],
      ...LAMBDA_ESBUILD_OPTIONS,
      outfile,
    });
    delete process.env.TOKENGATE_ROUTES;
    await assert.rejects(import(pathToFileURL(outfile).href), (err: unknown) => {
      assert.ok(err instanceof Error);
      assert.equal(err.name, 'ConfigError');
      assert.match(err.message, /no route table was compiled into the authorizer/);
      return true;
    });
  });
});
