/**
 * The construct as a team uses it beyond the default shape (test/infra/stack.test.ts): its own RestApi passed in,
 * an HTTP integration beside a function, methods it adds itself behind `tokengate.authorizer`, and the route
 * tables the construct refuses at synth. Plus the sample app of bin/app.ts, synthesized as `cdk synth` does.
 */
import assert from 'node:assert/strict';
import { describe, it } from '@jest/globals';
import { App, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as apigw from 'aws-cdk-lib/aws-apigateway';
import { AwsSolutionsChecks } from 'cdk-nag';
import type { IConstruct } from 'constructs';
import { Tokengate, type Route } from '../../lib/index.js';
import { ShopStack } from '../../bin/app.js';
import shop from '../../examples/shop/app.js';
import { actionsOf, apiMethods, baseContext, logicalId, ofType, statementsByRole, teamFunction, TEAM_ROUTES, type TemplateJson } from './support.js';

function findings(scope: IConstruct): string[] {
  return new AwsSolutionsChecks(undefined, { verbose: true }).validateScope(scope).violations.flatMap((v) =>
    v.violatingResources.map((r) => `${v.ruleName} at ${r.constructPath}`),
  );
}

describe("a team's own RestApi", () => {
  const app = new App({ context: baseContext({ 'tokengate:corsAllowOrigins': 'https://app.example.com' }) });
  const stack = new Stack(app, 'Own');
  const api = new apigw.RestApi(stack, 'TeamApi', {
    restApiName: 'team',
    deployOptions: { stageName: 'live', throttlingRateLimit: 50, throttlingBurstLimit: 100 },
    cloudWatchRole: false,
  });
  // Something the team serves itself, before tokengate: its CORS preflight must stay the team's.
  api.root.addResource('status').addMethod('GET', new apigw.MockIntegration());
  const orders = teamFunction(stack, 'Orders');
  const tokengate = new Tokengate(stack, 'Tokengate', { routes: TEAM_ROUTES, integrations: { orders }, api });
  const json = Template.fromStack(stack).toJSON() as TemplateJson;

  it('gets the routes on it: no second API, the team method kept, the authorizer on exactly the protected routes', () => {
    assert.equal(tokengate.api, api);
    assert.equal(ofType(json, 'AWS::ApiGateway::RestApi').length, 1);
    const methods = apiMethods(json).filter((m) => m.method !== 'OPTIONS');
    const keys = methods.map((m) => `${m.method} ${m.path}`).sort();
    assert.deepEqual(keys, [...tokengate.routes.map((r) => `${r.method} ${r.path}`), 'GET /status'].sort());
    const authorizerId = logicalId(stack, tokengate.authorizer);
    for (const m of methods) {
      const route = tokengate.routes.find((r) => r.method === m.method && r.path === m.path);
      const guarded = route !== undefined && route.permission !== null;
      assert.equal(m.authorizationType, guarded ? 'CUSTOM' : 'NONE', `${m.method} ${m.path}`);
      assert.equal(m.authorizerId, guarded ? authorizerId : undefined, `${m.method} ${m.path}`);
    }
  });

  it("adds the login throttle to the team's stage and leaves its stage settings alone; URLs use its stage", () => {
    const [[, stage] = []] = ofType(json, 'AWS::ApiGateway::Stage');
    assert.equal(stage?.Properties?.StageName, 'live');
    const settings = stage?.Properties?.MethodSettings as Record<string, unknown>[];
    assert.deepEqual(settings.find((s) => s.HttpMethod === '*'), { DataTraceEnabled: false, HttpMethod: '*', ResourcePath: '/*', ThrottlingBurstLimit: 100, ThrottlingRateLimit: 50 });
    assert.deepEqual(settings.find((s) => s.HttpMethod === 'POST'), {
      DataTraceEnabled: false, HttpMethod: 'POST', LoggingLevel: 'ERROR', MetricsEnabled: true, ResourcePath: '/~1auth~1login', ThrottlingBurstLimit: 20, ThrottlingRateLimit: 10,
    });
    const base = JSON.stringify(stack.resolve(tokengate.apiBaseUrl));
    assert.ok(base.endsWith('/live/"]]}') && !base.includes(logicalId(stack, api.deploymentStage)), base);
    // No access-log group of tokengate's: the stage is the team's.
    assert.ok(!ofType(json, 'AWS::Logs::LogGroup').some(([id]) => id.includes('AccessLogs')));
  });

  it('adds the JSON gateway responses, the validator, the models, and preflights where the API has none', () => {
    assert.equal(ofType(json, 'AWS::ApiGateway::GatewayResponse').length, 8);
    assert.equal(ofType(json, 'AWS::ApiGateway::RequestValidator').length, 1);
    assert.equal(ofType(json, 'AWS::ApiGateway::Model').length, 2);
    const preflights = apiMethods(json).filter((m) => m.method === 'OPTIONS').map((m) => m.path).sort();
    assert.deepEqual(preflights, [...new Set(tokengate.routes.map((r) => r.path))].sort());
  });

  it("lets the team's function be invoked by the team's stage only", () => {
    const own = ofType(json, 'AWS::Lambda::Permission').filter(([, p]) => JSON.stringify(p.Properties?.FunctionName).includes(`"${logicalId(stack, orders)}"`));
    assert.equal(own.length, 1);
    const parts = (own[0]?.[1].Properties?.SourceArn as { 'Fn::Join': [string, unknown[]] })['Fn::Join'][1];
    assert.deepEqual(parts.slice(-2), [{ Ref: logicalId(stack, api) }, '/live/*/*']);
  });

  it("raises no cdk-nag finding on what tokengate adds (the team's stage is the team's)", () => {
    // Everything under the construct, and the methods it put on the team's API (not the team's own GET /status).
    const ours = findings(stack).filter((f) => f.includes('/Tokengate/') || (f.includes('/TeamApi/Default/') && !f.includes('/status/')));
    assert.ok(findings(stack).some((f) => f.includes('/status/')), 'the check is live');
    assert.deepEqual(ours, []);
  });

  it('refuses an API without a deployment stage', () => {
    const s = new Stack(new App({ context: baseContext() }), 'NoStage');
    const bare = new apigw.RestApi(s, 'Api', { deploy: false, cloudWatchRole: false });
    bare.root.addMethod('GET', new apigw.MockIntegration());
    assert.throws(() => new Tokengate(s, 'Tokengate', { routes: TEAM_ROUTES, integrations: { orders: teamFunction(s, 'Orders') }, api: bare }), /no deployment stage/);
  });
});

describe('an HTTP integration and methods the team adds itself', () => {
  const app = new App({ context: baseContext() });
  const stack = new Stack(app, 'Mixed');
  const routes: Route<'orders' | 'legacy'>[] = [
    ...TEAM_ROUTES,
    { method: 'GET', path: '/legacy/{id}', permission: 'legacy:read', handler: 'legacy' },
  ];
  const legacy = new apigw.HttpIntegration('https://legacy.example.com/{id}', {
    proxy: true,
    options: { requestParameters: { 'integration.request.path.id': 'method.request.path.id' } },
  });
  const tokengate = new Tokengate(stack, 'Tokengate', {
    routes,
    integrations: { orders: teamFunction(stack, 'Orders'), legacy },
    protectedMethods: [{ method: 'GET', path: '/reports', permission: 'reports:read' }],
  });
  // The team's own method, guarded by tokengate's authorizer.
  tokengate.api.root.addResource('reports').addMethod('GET', new apigw.MockIntegration(), { authorizer: tokengate.authorizer });
  const json = Template.fromStack(stack).toJSON() as TemplateJson;

  it('proxies the HTTP route to its URL, behind the authorizer', () => {
    const m = apiMethods(json).find((x) => x.method === 'GET' && x.path === '/legacy/{id}');
    const integration = m?.properties.Integration as { Type: string; Uri: string };
    assert.equal(integration.Type, 'HTTP_PROXY');
    assert.equal(integration.Uri, 'https://legacy.example.com/{id}');
    assert.equal(m?.authorizationType, 'CUSTOM');
  });

  it("compiles every protected route into the authorizer's table, the team's own methods included, and nothing public", () => {
    assert.deepEqual(tokengate.authorizerRoutes, [
      { method: 'GET', path: '/orders', permission: 'orders:read' },
      { method: 'POST', path: '/orders', permission: 'orders:write' },
      { method: 'GET', path: '/orders/{id}', permission: 'orders:read' },
      { method: 'DELETE', path: '/orders/{id}', permission: 'orders:admin' },
      { method: 'GET', path: '/legacy/{id}', permission: 'legacy:read' },
      { method: 'GET', path: '/reports', permission: 'reports:read' },
    ]);
    const reports = apiMethods(json).find((x) => x.method === 'GET' && x.path === '/reports');
    assert.equal(reports?.authorizerId, logicalId(stack, tokengate.authorizer));
  });

  it("keeps the route table out of the authorizer's environment", () => {
    const env = (json.Resources[logicalId(stack, tokengate.functions.authorizer.fn)]?.Properties?.Environment as { Variables: Record<string, unknown> }).Variables;
    assert.ok(!JSON.stringify(env).includes('/orders') && !('TOKENGATE_ROUTES' in env));
  });
});

describe('route tables the construct refuses at synth', () => {
  const attempt = (routes: readonly Route[], integrations: Record<string, 'fn'>) => () => {
    const s = new Stack(new App({ context: baseContext() }), 'Bad');
    const fns = Object.fromEntries(Object.keys(integrations).map((n) => [n, teamFunction(s, `F${n}`)]));
    new Tokengate(s, 'Tokengate', { routes, integrations: fns });
  };
  const r = (method: Route['method'], path: string, permission: string | null, handler = 'orders'): Route => ({ method, path, permission, handler });

  it('a handler without an integration, or an integration serving no route', () => {
    assert.throws(attempt([r('GET', '/a', 'a:read', 'nobody')], { orders: 'fn' }), /service "nobody" is not declared/);
    assert.throws(attempt([r('GET', '/a', 'a:read')], { orders: 'fn', spare: 'fn' }), /service "spare" serves no route/);
  });

  it("a route on tokengate's own paths, a duplicate, a bad permission", () => {
    assert.throws(attempt([r('GET', '/auth/me', 'a:read')], { orders: 'fn' }), /tokengate's own paths/);
    assert.throws(attempt([r('GET', '/a', 'a:read'), r('GET', '/a', 'a:write')], { orders: 'fn' }), /declared twice/);
    assert.throws(attempt([r('GET', '/a', 'Admin')], { orders: 'fn' }), /permission must be "resource:action"/);
  });

  it('an integration named like one of tokengate\'s functions', () => {
    assert.throws(attempt([r('GET', '/a', 'a:read', 'login')], { login: 'fn' }), /one of tokengate's own functions/);
  });

  it("a route whose policy pattern would let a weaker permission's callers through (IAM's * spans '/')", () => {
    assert.throws(
      attempt([r('GET', '/orders/{id}', 'orders:read'), r('GET', '/orders/{id}/secret', 'orders:admin')], { orders: 'fn' }),
      /GET \/orders\/\{id\} \(orders:read\) would also let its callers through to GET \/orders\/\{id\}\/secret \(orders:admin\)/,
    );
    // Implied permissions are fine: orders:* covers orders:admin; the same permission deeper is fine.
    assert.doesNotThrow(attempt([r('GET', '/orders/{id}', 'orders:*'), r('GET', '/orders/{id}/secret', 'orders:admin')], { orders: 'fn' }));
    assert.doesNotThrow(attempt([r('GET', '/orders/{id}', 'orders:read'), r('GET', '/orders/{id}/lines', 'orders:read')], { orders: 'fn' }));
  });
});

describe('the sample app (bin/app.ts)', () => {
  const app = new App({ context: baseContext() });
  const stack = new ShopStack(app, 'Tokengate');
  const template = Template.fromStack(stack);
  const json = template.toJSON() as TemplateJson;
  const statements = statementsByRole(json);

  it("serves tokengate's routes and every route of examples/shop/app.ts, on the service each names", () => {
    const keys = apiMethods(json).map((m) => `${m.method} ${m.path}`).sort();
    assert.deepEqual(keys, stack.tokengate.routes.map((r) => `${r.method} ${r.path}`).sort());
    for (const route of shop.routes) {
      const m = apiMethods(json).find((x) => x.method === route.method && x.path === route.path);
      assert.ok(JSON.stringify(m?.properties.Integration).includes(`"${logicalId(stack, stack.services[route.handler])}"`), `${route.method} ${route.path}`);
    }
  });

  it('gives each service its own table only, and the environment to call through the gateway and verify tokens', () => {
    const tableEnv = { orders: 'ORDERS_TABLE', inventory: 'INVENTORY_TABLE' } as const;
    for (const name of ['orders', 'inventory'] as const) {
      const fn = stack.services[name];
      const table = stack.tables[name][tableEnv[name]]!;
      const own = statements.get(logicalId(stack, fn.role as IConstruct)) ?? [];
      const dynamo = own.filter((s) => actionsOf([s]).some((a) => a.startsWith('dynamodb:')));
      assert.ok(dynamo.length > 0, name);
      for (const s of dynamo) assert.deepEqual(s.Resource, { 'Fn::GetAtt': [logicalId(stack, table), 'Arn'] }, name);
      assert.ok(!JSON.stringify(own).includes(logicalId(stack, stack.tokengate.table)), `${name} reaches tokengate's table`);
      assert.ok(!actionsOf(own).some((a) => a.startsWith('kms:') || a === 'dynamodb:Scan' || a.endsWith('*')), name);
      const env = (json.Resources[logicalId(stack, fn)]?.Properties?.Environment as { Variables: Record<string, unknown> }).Variables;
      assert.deepEqual(Object.keys(env).sort(), ['API_URL', 'JWKS_URL', 'NODE_OPTIONS', tableEnv[name], 'TOKEN_AUDIENCE', 'TOKEN_ISSUER'].sort());
      assert.deepEqual(env[tableEnv[name]], { Ref: logicalId(stack, table) });
      assert.deepEqual(env.API_URL, stack.resolve(stack.tokengate.apiBaseUrl));
    }
  });

  it('has the outputs the docs use', () => {
    for (const name of ['ApiUrl', 'JwksUrl', 'TableName', 'SigningKeyArn', 'AuthorizerFunctionName', 'OrdersTableName', 'InventoryTableName']) {
      template.hasOutput(name, {});
    }
    assert.ok(JSON.stringify(json.Outputs?.JwksUrl?.Value).includes('/.well-known/jwks.json'));
    assert.deepEqual(json.Outputs?.TableName?.Value, { Ref: logicalId(stack, stack.tokengate.table) });
    assert.deepEqual(json.Outputs?.AuthorizerFunctionName?.Value, { Ref: logicalId(stack, stack.tokengate.functions.authorizer.fn) });
  });

  it('is cdk-nag clean', () => {
    assert.deepEqual(findings(stack), []);
  });
});
