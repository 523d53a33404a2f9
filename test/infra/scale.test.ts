/**
 * 200 routes: the construct with a generated table (25 resources × 8 routes = 200 methods on 75 paths, four
 * functions, three permissions per resource) stays inside the limits that would otherwise break first.
 *
 * - Lambda environment, 4 KB per function (keys + values, as Lambda counts them): every function of the
 *   template, with deploy-time values (references) counted at their largest possible size, or for the JWKS at
 *   the size of five real P-256 keys (the most `signingKeys` allows). The route table is compiled into the
 *   authorizer's code, so its environment is the same with 200 routes as with none.
 * - The authorizer's answer: built by the real policy builder for a caller holding every permission, for a
 *   realistic method ARN; its JSON size is measured (API Gateway documents no small limit for a REST API's
 *   authorizer policy; the answer is a Lambda response, at most 6 MB) and checked with the local gateway's
 *   policy evaluator to allow exactly the generated routes.
 * - CloudFormation: at most 500 resources per stack; 1 MB per template (uploaded through S3).
 * - Lambda resource policy, 20 KB per function: one invocation permission per team function, whatever the
 *   number of its routes.
 *
 * The numbers go to docs/DEPLOY.md ("How far it scales"); `SCALE_REPORT=1` prints them.
 */
import assert from 'node:assert/strict';
import { describe, it } from '@jest/globals';
import { App, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { Tokengate, type Route } from '../../lib/index.js';
import { authorizerRoutesDefine } from '../../lib/bundling.js';
import { compilePolicy, evaluatePolicy } from '../../lib/local/policy-eval.js';
import { generateP256Pem, LocalKeySigner } from '../../lambdas/adapters/local-signer.js';
import { PolicyBuilder } from '../../lambdas/core/policy.js';
import { baseContext, logicalId, ofType, teamFunction, type TemplateJson } from './support.js';

const SERVICES = ['alpha', 'beta', 'gamma', 'delta'] as const;
type Service = (typeof SERVICES)[number];

/** 25 resources, each: a collection, an item and its sub-collection; read, write and admin permissions. */
function generatedRoutes(): Route<Service>[] {
  const out: Route<Service>[] = [];
  for (let i = 0; i < 25; i++) {
    const name = `res${String(i).padStart(2, '0')}`;
    const handler = SERVICES[i % SERVICES.length] as Service;
    const p = (action: string) => `${name}:${action}`;
    out.push(
      { method: 'GET', path: `/${name}`, permission: p('read'), handler },
      { method: 'POST', path: `/${name}`, permission: p('write'), handler },
      { method: 'GET', path: `/${name}/{id}`, permission: p('read'), handler },
      { method: 'PUT', path: `/${name}/{id}`, permission: p('write'), handler },
      { method: 'PATCH', path: `/${name}/{id}`, permission: p('write'), handler },
      { method: 'DELETE', path: `/${name}/{id}`, permission: p('admin'), handler },
      { method: 'GET', path: `/${name}/{id}/items`, permission: p('read'), handler },
      { method: 'POST', path: `/${name}/{id}/items`, permission: p('write'), handler },
    );
  }
  return out;
}

const ROUTES = generatedRoutes();
const ORIGIN = 'https://app.example.com';

function build(routes: readonly Route<Service>[]) {
  // CORS on (a preflight per path: the most resources) and the longest stage name that reads well.
  const app = new App({ context: baseContext({ 'tokengate:corsAllowOrigins': ORIGIN, 'tokengate:stageName': 'production' }) });
  const stack = new Stack(app, 'Scale');
  const integrations = Object.fromEntries(SERVICES.map((s) => [s, teamFunction(stack, s)])) as Record<Service, ReturnType<typeof teamFunction>>;
  const tokengate = new Tokengate(stack, 'Tokengate', { routes, integrations });
  // Each team function also carries what a service needs, as the sample app gives it.
  for (const fn of Object.values(integrations)) {
    for (const [k, v] of Object.entries(tokengate.serviceEnvironment)) fn.addEnvironment(k, v);
  }
  const json = Template.fromStack(stack).toJSON() as TemplateJson;
  return { stack, tokengate, integrations, json };
}

/** Five real public keys as the JWKS publisher publishes them (the largest JWKS_JSON `signingKeys` allows). */
async function largestJwks(): Promise<string> {
  const keys = [];
  for (let i = 0; i < 5; i++) keys.push(...(await LocalKeySigner.fromPem(generateP256Pem()).publicJwks()).keys);
  return JSON.stringify({ keys });
}

/**
 * The bytes a CloudFormation value takes once deployed, at most: literals as they are; references at the
 * longest value they can resolve to.
 */
function maxBytes(value: unknown, stack: Stack, jwksBytes: number, json: TemplateJson): number {
  if (typeof value === 'string') return Buffer.byteLength(value, 'utf8');
  const v = value as Record<string, unknown>;
  if ('Fn::Join' in v) {
    const [sep, parts] = v['Fn::Join'] as [string, unknown[]];
    return parts.reduce<number>((n, p) => n + maxBytes(p, stack, jwksBytes, json), 0) + sep.length * Math.max(0, parts.length - 1);
  }
  if ('Ref' in v) {
    const ref = v.Ref as string;
    const pseudo: Record<string, number> = { 'AWS::Region': 14 /* ap-southeast-4 */, 'AWS::URLSuffix': 16 /* amazonaws.com.cn */, 'AWS::Partition': 10, 'AWS::AccountId': 12 };
    if (ref in pseudo) return pseudo[ref] as number;
    const type = json.Resources[ref]?.Type;
    if (type === 'AWS::DynamoDB::Table') return 255; // the longest table name DynamoDB allows
    if (type === 'AWS::ApiGateway::RestApi') return 10; // API ids are 10 characters
    if (type === 'AWS::Lambda::Function') return 64;
    throw new Error(`no size bound for Ref ${ref} (${type})`);
  }
  if ('Fn::GetAtt' in v) {
    const [ref, attr] = v['Fn::GetAtt'] as [string, string];
    const type = json.Resources[ref]?.Type;
    if (type === 'Custom::TokengateJwks' && attr === 'Jwks') return jwksBytes;
    // arn:aws-iso-b:kms:ap-southeast-4:123456789012:key/<uuid>
    if (type === 'AWS::KMS::Key' && attr === 'Arn') return 'arn:aws-iso-b:kms:ap-southeast-4:123456789012:key/'.length + 36;
    if (type === 'AWS::Lambda::Function' && attr === 'Arn') return 'arn:aws-iso-b:lambda:ap-southeast-4:123456789012:function:'.length + 64;
    if (type === 'AWS::DynamoDB::Table' && attr === 'Arn') return 'arn:aws-iso-b:dynamodb:ap-southeast-4:123456789012:table/'.length + 255;
    throw new Error(`no size bound for GetAtt ${ref}.${attr} (${type})`);
  }
  throw new Error(`no size bound for ${JSON.stringify(value)}`);
}

/** Lambda counts the environment as the total size of keys and values. */
function envBytes(json: TemplateJson, stack: Stack, jwksBytes: number): Map<string, number> {
  const out = new Map<string, number>();
  for (const [id, fn] of ofType(json, 'AWS::Lambda::Function')) {
    const vars = (fn.Properties?.Environment as { Variables?: Record<string, unknown> } | undefined)?.Variables ?? {};
    let n = 0;
    for (const [k, v] of Object.entries(vars)) n += Buffer.byteLength(k, 'utf8') + maxBytes(v, stack, jwksBytes, json);
    out.set(id, n);
  }
  return out;
}

describe('200 routes', () => {
  const big = build(ROUTES);
  // The comparison: one route per function (every integration must serve a route).
  const few = build(SERVICES.map((handler, i): Route<Service> => ({ method: 'GET', path: `/only${i}`, permission: `only${i}:read`, handler })));
  const report: Record<string, unknown> = {};

  it('the table: 200 methods on 75 paths, 4 functions', () => {
    assert.equal(ROUTES.length, 200);
    assert.equal(new Set(ROUTES.map((r) => r.path)).size, 75);
    assert.equal(big.tokengate.authorizerRoutes.length, 200);
    const methods = ofType(big.json, 'AWS::ApiGateway::Method');
    assert.equal(methods.length, 200 + 5 + 75 + 5); // the team's, tokengate's (with GET /openapi.json), and a preflight per path
  });

  it("keeps every function's environment under Lambda's 4 KB, the authorizer's the same as with four routes", async () => {
    const jwksBytes = Buffer.byteLength(await largestJwks(), 'utf8');
    const sizes = envBytes(big.json, big.stack, jwksBytes);
    const small = envBytes(few.json, few.stack, jwksBytes);
    for (const [id, n] of sizes) assert.ok(n < 4096, `${id}: ${n} bytes of environment`);
    const authorizer = logicalId(big.stack, big.tokengate.functions.authorizer.fn);
    assert.equal(sizes.get(authorizer), small.get(logicalId(few.stack, few.tokengate.functions.authorizer.fn)));
    report.envBytes = {
      ...Object.fromEntries(Object.entries(big.tokengate.functions).map(([name, f]) => [name, sizes.get(logicalId(big.stack, f.fn))])),
      teamFunction: sizes.get(logicalId(big.stack, big.integrations.alpha)),
      largest: Math.max(...sizes.values()),
    };
    report.jwksBytesFiveKeys = jwksBytes;
  });

  it("compiles the table into the authorizer's code: the define is a JS string literal of the 200 routes", () => {
    const define = authorizerRoutesDefine(big.tokengate.authorizerRoutes);
    const literal = define['process.env.TOKENGATE_ROUTES'] as string;
    const table = JSON.parse(JSON.parse(literal) as string) as unknown[];
    assert.equal(table.length, 200);
    report.compiledTableBytes = Buffer.byteLength(literal, 'utf8');
  });

  it("answers a caller holding every permission with one Allow statement of the 200 routes, and allows nothing else", () => {
    const builder = new PolicyBuilder(big.tokengate.authorizerRoutes);
    const prefix = 'arn:aws:execute-api:ap-southeast-4:123456789012:a1b2c3d4e5/production/';
    const everything = [...new Set(ROUTES.map((r) => r.permission as string))];
    assert.equal(everything.length, 75);
    const context = { sub: 'a-fairly-long-username@example.com', scope: everything.join(' '), sid: 'c2Vzc2lvbi0xMjM0NTY3ODkwYWJjZGVm', jti: '5f0c0a52-9b5e-4a4e-9d1a-2b7f9a0c1e11', exp: '1893456000' };
    const answer = builder.build(`${prefix}GET/res00`, context.sub, context.scope, context);
    const statements = answer.policyDocument.Statement;
    assert.equal(statements.length, 1);
    assert.equal(statements[0]?.Effect, 'Allow');
    assert.equal(statements[0]?.Resource.length, 200);
    const bytes = Buffer.byteLength(JSON.stringify(answer), 'utf8');
    assert.ok(bytes < 20_000, `${bytes} bytes`);
    report.policyBytesAllPermissions = bytes;

    // The cached answer, as API Gateway re-evaluates it for every route: each generated route allowed, nothing else.
    const policy = compilePolicy(answer.policyDocument);
    for (const r of ROUTES) assert.equal(evaluatePolicy(policy, `${prefix}${r.method}${r.path.replace(/\{[^}]+\}/g, '42')}`), 'allow', `${r.method} ${r.path}`);
    assert.notEqual(evaluatePolicy(policy, `${prefix}DELETE/res00`), 'allow');
    assert.notEqual(evaluatePolicy(policy, `${prefix}GET/res99`), 'allow');
    assert.notEqual(evaluatePolicy(policy, `arn:aws:execute-api:ap-southeast-4:123456789012:a1b2c3d4e5/other/GET/res00`), 'allow');

    // A reader of one resource: only its three GETs.
    const reader = builder.build(`${prefix}GET/res07`, 'r', 'res07:read', {});
    assert.deepEqual(reader.policyDocument.Statement[0]?.Resource, [`${prefix}GET/res07`, `${prefix}GET/res07/*`, `${prefix}GET/res07/*/items`]);
  });

  it('stays within CloudFormation (500 resources, 1 MB) and gives each team function one invocation permission', () => {
    const resources = Object.keys(big.json.Resources).length;
    assert.ok(resources < 500, `${resources} resources`);
    const templateBytes = Buffer.byteLength(JSON.stringify(big.json), 'utf8');
    assert.ok(templateBytes < 1_000_000, `${templateBytes} bytes`);
    const permissions = ofType(big.json, 'AWS::Lambda::Permission');
    for (const s of SERVICES) {
      const id = logicalId(big.stack, big.integrations[s]);
      assert.equal(permissions.filter(([, p]) => JSON.stringify(p.Properties?.FunctionName).includes(`"${id}"`)).length, 1, s);
    }
    report.resources = resources;
    report.templateBytes = templateBytes;
    report.lambdaPermissions = permissions.length;
    if (process.env.SCALE_REPORT) process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
  });
});
