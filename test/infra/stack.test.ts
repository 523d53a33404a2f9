/**
 * The synthesized template says what we mean: tokengate's routes and a team's own routes become exactly these
 * methods, the authorizer guards exactly the protected ones, every function is small, ARM, current Node.js and
 * least-privileged (the team's function gets nothing from tokengate but invocation by the API's stage), and
 * nothing secret or unbounded slips in. One synth (with two CORS origins) serves the whole file.
 */
import assert from 'node:assert/strict';
import { describe, it } from '@jest/globals';
import { Match } from 'aws-cdk-lib/assertions';
import type { IConstruct } from 'constructs';
import { protectedRoutes } from '../../lib/routes.js';
import { FUNCTION_ENV, type ApiFunctionName } from '../../lib/constructs/function-env.js';
import { AUTHORIZER_VALIDATION_REGEX } from '../../lib/constructs/tokengate-api.js';
import { actionsOf, apiMethods, AUDIENCE, ISSUER, logicalId, ofType, ROUTES as routes, statementsByRole, synth, type Statement } from './support.js';

const ORIGINS = ['https://app.example.com', 'http://localhost:5173'];
const { stack, tokengate, orders, template, json } = synth({ 'tokengate:corsAllowOrigins': ORIGINS.join(',') });

const functionNames = Object.keys(tokengate.functions) as ApiFunctionName[];
const fnId = (name: ApiFunctionName) => logicalId(stack, tokengate.functions[name].fn);
const roleId = (name: ApiFunctionName) => logicalId(stack, tokengate.functions[name].role);
const authorizerId = logicalId(stack, tokengate.authorizer);
/** The function serving a route: one of tokengate's, or the team's. */
const handlerId = (handler: string) => (handler in tokengate.functions ? fnId(handler as ApiFunctionName) : logicalId(stack, orders));
const statements = statementsByRole(json);

describe('API Gateway', () => {
  it('has one TOKEN authorizer on the Authorization header, with the bearer regex and the default cache TTL', () => {
    template.resourceCountIs('AWS::ApiGateway::Authorizer', 1);
    template.hasResourceProperties('AWS::ApiGateway::Authorizer', {
      Type: 'TOKEN',
      IdentitySource: 'method.request.header.Authorization',
      IdentityValidationExpression: AUTHORIZER_VALIDATION_REGEX,
      AuthorizerResultTtlInSeconds: 300,
      AuthorizerUri: Match.objectLike({ 'Fn::Join': Match.arrayWith([Match.arrayWith([{ 'Fn::GetAtt': [fnId('authorizer'), 'Arn'] }])]) }),
    });
    const re = new RegExp(AUTHORIZER_VALIDATION_REGEX);
    assert.ok(re.test('Bearer aGVh.cGF5.c2ln') && re.test('bearer aGVh.cGF5.c2ln'));
    for (const bad of ['Bearer aGVh.cGF5.c2ln=', 'Bearer aGVh.cGF5.c2lnZR', 'bearer a.b.c', 'Bearer a.b', 'Bearer a.b.c.d', 'Bearer a.b.c ', 'Basic dXNlcjpwYXNz', 'Bearer a+b.c.d']) {
      assert.ok(!re.test(bad), bad);
    }
  });

  it('serves exactly the route table (plus a CORS preflight per path)', () => {
    const actual = apiMethods(json).map((m) => `${m.method} ${m.path}`).sort();
    const paths = [...new Set(routes.map((r) => r.path))];
    const expected = [...routes.map((r) => `${r.method} ${r.path}`), ...paths.map((p) => `OPTIONS ${p}`)].sort();
    assert.deepEqual(actual, expected);
  });

  it('puts the authorizer on exactly the protected routes; public routes and preflights have none', () => {
    const guarded = new Set(protectedRoutes(routes).map((r) => `${r.method} ${r.path}`));
    assert.equal(guarded.size, 4);
    for (const m of apiMethods(json)) {
      const key = `${m.method} ${m.path}`;
      if (guarded.has(key)) {
        assert.equal(m.authorizationType, 'CUSTOM', key);
        assert.equal(m.authorizerId, authorizerId, key);
      } else {
        assert.equal(m.authorizationType, 'NONE', key);
        assert.equal(m.authorizerId, undefined, key);
      }
    }
    for (const path of ['/auth/login', '/auth/refresh', '/auth/logout', '/.well-known/jwks.json']) {
      assert.ok(apiMethods(json).some((m) => m.path === path && m.authorizationType === 'NONE' && m.method !== 'OPTIONS'), path);
    }
  });

  it('proxies each route to the function its table entry names', () => {
    for (const m of apiMethods(json).filter((x) => x.method !== 'OPTIONS')) {
      const route = routes.find((r) => r.method === m.method && r.path === m.path);
      assert.ok(route);
      const integration = m.properties.Integration as { Type: string; IntegrationHttpMethod: string; Uri: unknown };
      assert.equal(integration.Type, 'AWS_PROXY');
      assert.equal(integration.IntegrationHttpMethod, 'POST');
      assert.ok(JSON.stringify(integration.Uri).includes(`"${handlerId(route.handler)}"`), `${m.method} ${m.path} -> ${route.handler}`);
    }
  });

  it('validates the login body (required credentials) and the optional refresh body', () => {
    template.hasResourceProperties('AWS::ApiGateway::RequestValidator', { ValidateRequestBody: true, ValidateRequestParameters: true });
    template.hasResourceProperties('AWS::ApiGateway::Model', {
      ContentType: 'application/json',
      Schema: Match.objectLike({ title: 'LoginRequest', required: ['username', 'password'] }),
    });
    template.hasResourceProperties('AWS::ApiGateway::Model', {
      ContentType: 'application/json',
      Schema: Match.objectLike({ title: 'RefreshRequest', required: Match.absent() }),
    });
    const byKey = new Map(apiMethods(json).map((m) => [`${m.method} ${m.path}`, m.properties]));
    assert.ok(byKey.get('POST /auth/login')?.RequestValidatorId);
    assert.ok(byKey.get('POST /auth/refresh')?.RequestValidatorId);
    assert.equal(byKey.get('POST /auth/logout')?.RequestModels, undefined);
    assert.deepEqual(byKey.get('GET /orders/{id}')?.RequestParameters, { 'method.request.path.id': true });
  });

  it('has a stage with JSON access logs (retained 30 days), throttling, ERROR logging and no data tracing', () => {
    const [, stage] = ofType(json, 'AWS::ApiGateway::Stage')[0] ?? [];
    const p = stage?.Properties as { AccessLogSetting: { Format: string }; MethodSettings: unknown; TracingEnabled: boolean };
    const format = JSON.parse(p.AccessLogSetting.Format) as Record<string, string>;
    assert.equal(format.requestId, '$context.requestId');
    assert.equal(format.principalId, '$context.authorizer.principalId');
    assert.ok(!JSON.stringify(format).includes('Authorization'), 'never log the bearer token');
    template.hasResourceProperties('AWS::Logs::LogGroup', { RetentionInDays: 30 });
    assert.deepEqual(p.MethodSettings, [
      { DataTraceEnabled: false, HttpMethod: '*', LoggingLevel: 'ERROR', MetricsEnabled: true, ResourcePath: '/*', ThrottlingBurstLimit: 200, ThrottlingRateLimit: 100 },
      { DataTraceEnabled: false, HttpMethod: 'POST', LoggingLevel: 'ERROR', MetricsEnabled: true, ResourcePath: '/~1auth~1login', ThrottlingBurstLimit: 20, ThrottlingRateLimit: 10 },
    ]);
    assert.equal(p.TracingEnabled, false);
  });

  it('answers gateway errors with JSON, and with two origins without CORS headers', () => {
    const expected: Record<string, [string | undefined, string]> = {
      UNAUTHORIZED: ['401', '{"message":"Unauthorized"}'],
      ACCESS_DENIED: ['403', '{"Message":$context.error.messageString}'],
      AUTHORIZER_FAILURE: ['500', '{"message":$context.error.messageString}'],
      AUTHORIZER_CONFIGURATION_ERROR: ['500', '{"message":$context.error.messageString}'],
      DEFAULT_4XX: [undefined, '{"message":$context.error.messageString}'],
      DEFAULT_5XX: [undefined, '{"message":$context.error.messageString}'],
      BAD_REQUEST_BODY: ['400', '{"error":"invalid_request"}'],
    };
    const responses = new Map(ofType(json, 'AWS::ApiGateway::GatewayResponse').map(([, r]) => [r.Properties?.ResponseType as string, r.Properties ?? {}]));
    for (const [type, [status, body]] of Object.entries(expected)) {
      const r = responses.get(type);
      assert.ok(r, type);
      assert.equal(r.StatusCode, status, type);
      assert.deepEqual(r.ResponseTemplates, { 'application/json': body }, type);
      const headers = r.ResponseParameters as Record<string, string>;
      assert.equal(headers['gatewayresponse.header.Content-Type'], "'application/json'");
      // Two origins: a gateway response cannot choose between them, and echoing the caller's Origin would
      // allow every origin; so no CORS at all (one origin is a constant: test/infra/settings.test.ts).
      assert.deepEqual(Object.keys(headers).filter((h) => /access-control/i.test(h)), [], type);
    }
    assert.equal((responses.get('UNAUTHORIZED')?.ResponseParameters as Record<string, string>)['gatewayresponse.header.WWW-Authenticate'], "'Bearer'");
  });

  it('answers CORS preflights for the configured origins with the auth headers and credentials', () => {
    const preflights = apiMethods(json).filter((m) => m.method === 'OPTIONS');
    assert.equal(preflights.length, new Set(routes.map((r) => r.path)).size);
    for (const m of preflights) {
      const integration = m.properties.Integration as { Type: string; IntegrationResponses: { ResponseParameters: Record<string, string>; ResponseTemplates?: Record<string, string> }[] };
      assert.equal(integration.Type, 'MOCK');
      const headers = integration.IntegrationResponses[0]?.ResponseParameters ?? {};
      assert.equal(headers['method.response.header.Access-Control-Allow-Headers'], "'Authorization,Content-Type,X-Token-Delivery'");
      assert.equal(headers['method.response.header.Access-Control-Allow-Credentials'], "'true'");
      assert.equal(headers['method.response.header.Access-Control-Allow-Origin'], `'${ORIGINS[0]}'`);
      // The second origin is chosen by the response template when the request's Origin matches it.
      assert.ok(JSON.stringify(integration.IntegrationResponses[0]?.ResponseTemplates).includes(ORIGINS[1] as string), m.path);
    }
  });
});

describe('CORS never lets an origin in that is not allowed', () => {
  // Every place the gateway itself writes CORS headers: gateway responses and the preflights' mock integrations.
  const allowed = new Set(ORIGINS);
  const literal = (value: string): string | undefined => /^'(.*)'$/.exec(value)?.[1];

  /** A header mapping value must be a quoted constant: a `method.request.*` source copies what the caller sent. */
  function checkHeaders(where: string, headers: Record<string, string>, prefix: string): void {
    for (const [name, value] of Object.entries(headers)) {
      if (!name.toLowerCase().startsWith(`${prefix}access-control-`)) continue;
      assert.ok(literal(value) !== undefined, `${where}: ${name} = ${value} is not a constant`);
    }
    const origin = headers[`${prefix}Access-Control-Allow-Origin`];
    if (origin !== undefined) {
      assert.ok(allowed.has(literal(origin) ?? ''), `${where}: Access-Control-Allow-Origin ${origin} is not an allowed origin`);
    }
    assert.ok(!Object.values(headers).some((v) => /method\.request\.header\.origin/i.test(v)), `${where} copies the request's Origin`);
  }

  it('on every gateway response', () => {
    const responses = ofType(json, 'AWS::ApiGateway::GatewayResponse');
    assert.equal(responses.length, 8);
    for (const [id, r] of responses) {
      checkHeaders(id, (r.Properties?.ResponseParameters ?? {}) as Record<string, string>, 'gatewayresponse.header.');
      assert.ok(!JSON.stringify(r.Properties?.ResponseTemplates ?? {}).includes('responseOverride'), id);
    }
  });

  it('on every preflight: constants, and the template names only allowed origins, compared exactly', () => {
    const preflights = apiMethods(json).filter((m) => m.method === 'OPTIONS');
    assert.ok(preflights.length > 0);
    for (const m of preflights) {
      const where = `OPTIONS ${m.path}`;
      const integration = m.properties.Integration as { Type: string; IntegrationResponses: { ResponseParameters?: Record<string, string>; ResponseTemplates?: Record<string, string> }[] };
      assert.equal(integration.Type, 'MOCK', where);
      for (const response of integration.IntegrationResponses) {
        checkHeaders(where, response.ResponseParameters ?? {}, 'method.response.header.');
        for (const template of Object.values(response.ResponseTemplates ?? {})) {
          // The one dynamic part: Access-Control-Allow-Origin overridden to the request's Origin, only inside an
          // #if that compares that Origin for equality with allowed origins (== is exact in VTL, no pattern).
          const lines = template.split('\n').map((l) => l.trim()).filter((l) => l !== '');
          let guarded = false;
          for (const line of lines) {
            const cond = /^#if\((.*)\)$/.exec(line)?.[1];
            if (cond === '$origin == ""') {
              guarded = false; // CDK's fallback to a lower-case origin header: no header is set in it
            } else if (cond !== undefined) {
              const compared = cond.split('||').map((c) => /^\s*\$origin == "([^"]*)"\s*$/.exec(c)?.[1]);
              assert.ok(compared.every((o) => o !== undefined && allowed.has(o)), `${where}: ${line}`);
              guarded = true;
            } else if (line === '#end') {
              guarded = false;
            } else if (line.includes('responseOverride.header')) {
              assert.match(line, /^#set\(\$context\.responseOverride\.header\.Access-Control-Allow-Origin = \$origin\)$/, where);
              assert.ok(guarded, `${where}: the Origin is copied outside an exact comparison`);
            }
          }
        }
      }
    }
  });

  it('in the functions: each browser-facing one knows the exact list (lambdas/http/cors.ts echoes only those)', () => {
    for (const name of functionNames.filter((n) => n !== 'authorizer')) {
      const env = (json.Resources[fnId(name)]?.Properties?.Environment as { Variables: Record<string, unknown> }).Variables;
      assert.equal(env.CORS_ALLOW_ORIGINS, ORIGINS.join(','), name);
    }
  });
});

describe('DynamoDB table', () => {
  it('is pk/sk, on demand, TTL on expiresAt, point-in-time recovery, encrypted, retained and protected', () => {
    template.resourceCountIs('AWS::DynamoDB::Table', 1);
    template.hasResource('AWS::DynamoDB::Table', {
      DeletionPolicy: 'Retain',
      UpdateReplacePolicy: 'Retain',
      Properties: {
        KeySchema: [{ AttributeName: 'pk', KeyType: 'HASH' }, { AttributeName: 'sk', KeyType: 'RANGE' }],
        AttributeDefinitions: [{ AttributeName: 'pk', AttributeType: 'S' }, { AttributeName: 'sk', AttributeType: 'S' }],
        BillingMode: 'PAY_PER_REQUEST',
        TimeToLiveSpecification: { AttributeName: 'expiresAt', Enabled: true },
        PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
        SSESpecification: { SSEEnabled: true },
        DeletionProtectionEnabled: true,
      },
    });
  });
});

describe('signing key and JWKS', () => {
  it('is an ECC_NIST_P256 SIGN_VERIFY key with an alias, retained on update and delete (not after a failed first create)', () => {
    template.resourceCountIs('AWS::KMS::Key', 1);
    template.hasResource('AWS::KMS::Key', {
      DeletionPolicy: 'RetainExceptOnCreate',
      UpdateReplacePolicy: 'Retain',
      Properties: { KeySpec: 'ECC_NIST_P256', KeyUsage: 'SIGN_VERIFY' },
    });
    template.hasResourceProperties('AWS::KMS::Alias', { AliasName: 'alias/tokengate/Test/primary' });
  });

  it('publishes the JWKS through the custom resource into JWKS_JSON of every API function', () => {
    const [crId, cr] = ofType(json, 'Custom::TokengateJwks')[0] ?? [];
    assert.ok(crId && cr);
    assert.deepEqual(cr.Properties?.KeyIds, [{ 'Fn::GetAtt': [logicalId(stack, tokengate.signingKeys.activeKey), 'Arn'] }]);
    for (const name of functionNames) {
      const env = (json.Resources[fnId(name)]?.Properties?.Environment as { Variables: Record<string, unknown> }).Variables;
      assert.deepEqual(env.JWKS_JSON, { 'Fn::GetAtt': [crId, 'Jwks'] }, name);
    }
  });
});

describe('Lambda functions', () => {
  const fns = ofType(json, 'AWS::Lambda::Function');

  it('every function (the provider framework included) runs Node.js 22+ on arm64', () => {
    assert.ok(fns.length >= functionNames.length + 2);
    for (const [id, fn] of fns) {
      const runtime = fn.Properties?.Runtime as string;
      const major = Number(/^nodejs(\d+)\.x$/.exec(runtime)?.[1]);
      assert.ok(major >= 22, `${id}: ${runtime}`);
      assert.deepEqual(fn.Properties?.Architectures, ['arm64'], id);
    }
  });

  it('gets exactly its share of the environment contract, plus the runtime settings', () => {
    for (const name of functionNames) {
      const env = (json.Resources[fnId(name)]?.Properties?.Environment as { Variables: Record<string, unknown> }).Variables;
      const runtime = ['NODE_OPTIONS', 'POWERTOOLS_SERVICE_NAME', 'POWERTOOLS_METRICS_NAMESPACE'];
      const cors = name === 'authorizer' ? [] : ['CORS_ALLOW_ORIGINS'];
      assert.deepEqual(Object.keys(env).sort(), [...FUNCTION_ENV[name], ...runtime, ...cors].sort(), name);
      assert.equal(env.NODE_OPTIONS, '--enable-source-maps');
      assert.equal(env.POWERTOOLS_METRICS_NAMESPACE, 'tokengate');
      assert.equal(env.TOKEN_ISSUER, ISSUER);
      assert.equal(env.TOKEN_AUDIENCE, AUDIENCE);
      assert.deepEqual(env.TABLE_NAME, { Ref: logicalId(stack, tokengate.table) });
      if (cors.length) assert.equal(env.CORS_ALLOW_ORIGINS, ORIGINS.join(','));
    }
    const login = (json.Resources[fnId('login')]?.Properties?.Environment as { Variables: Record<string, unknown> }).Variables;
    assert.equal(login.SIGNER, 'kms');
    assert.deepEqual(login.KMS_KEY_ID, { 'Fn::GetAtt': [logicalId(stack, tokengate.signingKeys.activeKey), 'Arn'] });
    assert.equal(login.ACCESS_TOKEN_TTL_SECONDS, '900');
    assert.equal(login.REFRESH_TOKEN_TTL_SECONDS, '2592000');
    // Path=/ by default: the refresh cookie then carries the __Host- prefix (no Domain, can't be planted).
    assert.equal(login.REFRESH_COOKIE_PATH, '/');
  });

  it('is sized for its work: login gets a full vCPU for scrypt, the authorizer answers within 3 s', () => {
    const props = (name: ApiFunctionName) => json.Resources[fnId(name)]?.Properties ?? {};
    assert.equal(props('login').MemorySize, 1769);
    assert.equal(props('login').Timeout, 10);
    assert.equal(props('authorizer').Timeout, 3);
    assert.equal(props('authorizer').MemorySize, 512);
    for (const name of functionNames) {
      const p = props(name);
      assert.ok((p.MemorySize as number) >= 256 && (p.MemorySize as number) <= 1769, name);
      assert.ok((p.Timeout as number) <= 10, name);
      assert.ok(p.LoggingConfig, `${name} logs to its own group`);
    }
  });
});

describe('IAM least privilege', () => {
  const dynamo = (name: ApiFunctionName) => actionsOf(statements.get(roleId(name)) ?? []).filter((a) => a.startsWith('dynamodb:')).sort();

  it('grants each function exactly its table actions', () => {
    assert.deepEqual(dynamo('authorizer'), ['dynamodb:BatchGetItem']);
    assert.deepEqual(dynamo('login'), ['dynamodb:GetItem', 'dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem', 'dynamodb:UpdateItem']);
    assert.deepEqual(dynamo('refresh'), ['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem']);
    assert.deepEqual(dynamo('logout'), ['dynamodb:GetItem', 'dynamodb:UpdateItem', 'dynamodb:UpdateItem']);
    assert.deepEqual(dynamo('jwks'), []);
  });

  it('limits each table statement to key prefixes, and user-item updates to the attributes a function may change', () => {
    const tableArn = { 'Fn::GetAtt': [logicalId(stack, tokengate.table), 'Arn'] };
    const table = (name: ApiFunctionName) =>
      (statements.get(roleId(name)) ?? [])
        .filter((s) => actionsOf([s]).some((a) => a.startsWith('dynamodb:')))
        .map((s) => {
          assert.deepEqual(s.Resource, tableArn, name); // the table only: no index, no other table
          assert.equal(s.Effect, 'Allow');
          return { actions: actionsOf([s]).map((a) => a.replace('dynamodb:', '')).sort(), condition: s.Condition };
        });
    const keys = (...prefixes: string[]) => ({ 'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': prefixes } });
    // AWS's documented form for attribute-level UpdateItem: the attributes (key included) and no ALL_* return values.
    const userAttributes = (...attributes: string[]) => ({
      ...keys('USER#*'),
      'ForAllValues:StringEquals': { 'dynamodb:Attributes': ['pk', 'sk', ...attributes] },
      StringEquals: { 'dynamodb:ReturnValues': ['NONE', 'UPDATED_OLD', 'UPDATED_NEW'] },
    });
    assert.deepEqual(table('authorizer'), [{ actions: ['BatchGetItem'], condition: keys('SESSION#*', 'USER#*') }]);
    assert.deepEqual(table('login'), [
      { actions: ['GetItem'], condition: keys('USER#*') },
      { actions: ['GetItem', 'UpdateItem'], condition: keys('THROTTLE#*') },
      { actions: ['PutItem'], condition: keys('SESSION#*', 'REFRESH#*') },
      { actions: ['UpdateItem'], condition: userAttributes('passwordHash') },
    ]);
    assert.deepEqual(table('refresh'), [
      { actions: ['GetItem'], condition: keys('REFRESH#*', 'SESSION#*', 'USER#*') },
      { actions: ['PutItem'], condition: keys('REFRESH#*') },
      { actions: ['UpdateItem'], condition: keys('REFRESH#*', 'SESSION#*') },
    ]);
    assert.deepEqual(table('logout'), [
      { actions: ['GetItem'], condition: keys('REFRESH#*', 'SESSION#*', 'USER#*') },
      { actions: ['UpdateItem'], condition: keys('SESSION#*') },
      { actions: ['UpdateItem'], condition: userAttributes('sessionsValidAfter') },
    ]);
    assert.deepEqual(table('jwks'), []);
    // Attribute limits without PutItem/DeleteItem beside them on the same items: those replace whole items.
    for (const name of functionNames) {
      const userWrites = table(name).filter((s) => JSON.stringify(s.condition).includes('USER#')).flatMap((s) => s.actions);
      assert.ok(!userWrites.includes('PutItem') && !userWrites.includes('DeleteItem'), name);
    }
  });

  it('grants nothing Scan, nothing wildcard on DynamoDB or KMS, anywhere', () => {
    const text = JSON.stringify(json);
    assert.ok(!text.includes('dynamodb:Scan'));
    assert.ok(!text.includes('"dynamodb:*"'));
    for (const [role, list] of statements) {
      for (const a of actionsOf(list)) assert.ok(!a.endsWith('*'), `${role}: ${a}`);
    }
  });

  it('lets only login and refresh sign, only with the stack\'s signing key; only the publisher reads public keys', () => {
    const holders = (action: string) =>
      [...statements].filter(([, list]) => actionsOf(list).includes(action)).map(([role]) => role).sort();
    assert.deepEqual(holders('kms:Sign'), [roleId('login'), roleId('refresh')].sort());
    assert.deepEqual(holders('kms:GetPublicKey'), [logicalId(stack, tokengate.signingKeys.publisher.role)]);
    for (const name of ['login', 'refresh'] as const) {
      const sign = (statements.get(roleId(name)) ?? []).find((s) => actionsOf([s]).includes('kms:Sign'));
      assert.deepEqual(sign?.Resource, { 'Fn::GetAtt': [logicalId(stack, tokengate.signingKeys.activeKey), 'Arn'] });
    }
  });

  it('lets the key itself refuse kms:Sign to anyone but the login and refresh roles', () => {
    const policy = json.Resources[logicalId(stack, tokengate.signingKeys.activeKey)]?.Properties?.KeyPolicy as { Statement: Statement[] };
    const deny = policy.Statement.filter((s) => s.Effect === 'Deny');
    assert.deepEqual(deny, [{
      Sid: 'OnlyTokengateSignersMaySign',
      Effect: 'Deny',
      Principal: { AWS: '*' },
      Action: 'kms:Sign',
      Resource: '*',
      Condition: { ArnNotEquals: { 'aws:PrincipalArn': [{ 'Fn::GetAtt': [roleId('login'), 'Arn'] }, { 'Fn::GetAtt': [roleId('refresh'), 'Arn'] }] } },
    }]);
  });

  it('gives no function role a managed policy', () => {
    for (const name of functionNames) {
      assert.equal(json.Resources[roleId(name)]?.Properties?.ManagedPolicyArns, undefined, name);
    }
  });
});

describe("the team's function", () => {
  const ordersRole = logicalId(stack, orders.role as IConstruct);
  const permissions = ofType(json, 'AWS::Lambda::Permission');
  const apiId = logicalId(stack, tokengate.api);

  it('gets nothing of tokengate: no table, no key, no managed policy; its role writes its own logs only', () => {
    const actions = actionsOf(statements.get(ordersRole) ?? []).sort();
    assert.deepEqual(actions, ['logs:CreateLogStream', 'logs:PutLogEvents']);
    assert.ok(!JSON.stringify(statements.get(ordersRole)).includes(logicalId(stack, tokengate.table)));
    assert.equal(json.Resources[ordersRole]?.Properties?.ManagedPolicyArns, undefined);
  });

  it("may be invoked by the API's stage only: one permission, whatever the number of its routes", () => {
    const own = permissions.filter(([, p]) => JSON.stringify(p.Properties?.FunctionName).includes(`"${logicalId(stack, orders)}"`));
    assert.equal(own.length, 1);
    const p = own[0]?.[1].Properties ?? {};
    assert.equal(p.Principal, 'apigateway.amazonaws.com');
    assert.equal(p.Action, 'lambda:InvokeFunction');
    const parts = (p.SourceArn as { 'Fn::Join': [string, unknown[]] })['Fn::Join'][1];
    assert.deepEqual(parts.slice(-2), [{ Ref: apiId }, '/prod/*/*']);
  });

  it("tokengate's own functions keep one permission per method they serve (none for the console's test-invoke)", () => {
    for (const name of ['login', 'refresh', 'logout', 'jwks'] as const) {
      const own = permissions.filter(([, p]) => JSON.stringify(p.Properties?.FunctionName).includes(`"${fnId(name)}"`));
      // jwks serves two methods: GET /.well-known/jwks.json and GET /openapi.json.
      assert.equal(own.length, name === 'jwks' ? 2 : 1, name);
      assert.ok(!JSON.stringify(own).includes('test-invoke-stage'), name);
    }
  });
});

describe('URLs for the team', () => {
  const resolve = (value: string) => JSON.stringify(stack.resolve(value));

  it('apiBaseUrl and jwksUrl name the API and its stage without depending on the stage (no cycle in a function env)', () => {
    const base = resolve(tokengate.apiBaseUrl);
    assert.ok(base.includes(`{"Ref":"${logicalId(stack, tokengate.api)}"}`), base);
    assert.ok(base.includes('.execute-api.') && base.endsWith('/prod/"]]}'), base);
    // The stage and the deployment depend on the methods, which depend on the team's functions.
    const stageId = logicalId(stack, tokengate.api.deploymentStage);
    for (const url of [base, resolve(tokengate.jwksUrl), JSON.stringify(stack.resolve(tokengate.serviceEnvironment))]) {
      assert.ok(!url.includes(stageId) && !url.includes('Deployment'), url);
    }
    assert.ok(resolve(tokengate.jwksUrl).includes('/prod/.well-known/jwks.json'));
  });

  it('serviceEnvironment gives a service what it needs to call through the gateway and verify tokens', () => {
    assert.deepEqual(Object.keys(tokengate.serviceEnvironment).sort(), ['API_URL', 'CORS_ALLOW_ORIGINS', 'JWKS_URL', 'TOKEN_AUDIENCE', 'TOKEN_ISSUER']);
    assert.equal(tokengate.serviceEnvironment.TOKEN_ISSUER, ISSUER);
    assert.equal(tokengate.serviceEnvironment.TOKEN_AUDIENCE, AUDIENCE);
    assert.equal(tokengate.serviceEnvironment.CORS_ALLOW_ORIGINS, ORIGINS.join(','));
  });
});
