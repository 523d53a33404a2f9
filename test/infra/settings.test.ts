/**
 * Settings reach the template, and bad settings stop the synth with a message that names the key.
 */
import assert from 'node:assert/strict';
import { describe, it } from '@jest/globals';
import { App } from 'aws-cdk-lib';
import { Match } from 'aws-cdk-lib/assertions';
import { validateSettings, TokengateConfigError } from '../../lib/constructs/settings.js';
import type { Tokengate } from '../../lib/index.js';
import { actionsOf, apiMethods, baseContext, build, logicalId, ofType, statementsByRole, synth, type Statement } from './support.js';

// Two synths for the whole file: a variant with most settings changed from the command line (strings, as
// `-c` passes them), and one with stack props and no CORS.
const variant = synth({
  'tokengate:authorizerCacheTtlSeconds': '0',
  'tokengate:corsAllowOrigins': 'https://app.example.com',
  'tokengate:signingKeys': 'k2024,k2025',
  'tokengate:activeSigningKey': 'k2025',
  'tokengate:tableRemovalPolicy': 'destroy',
  'tokengate:throttlingRateLimit': '5',
});
const fromProps = synth(
  { 'tokengate:authorizerCacheTtlSeconds': 0, 'tokengate:stageName': 'v2', 'tokengate:wafRateLimitPerIp': '100' },
  { settings: { authorizerCacheTtlSeconds: 60, refreshCookiePath: '/auth' }, manageAccountCloudWatchRole: false },
);

const key = (s: Tokengate, name: string) => {
  const k = s.signingKeys.keys.get(name);
  assert.ok(k, name);
  return k;
};

describe('authorizer cache TTL', () => {
  it('can be turned off (0) from the command line, as a string', () => {
    variant.template.hasResourceProperties('AWS::ApiGateway::Authorizer', { AuthorizerResultTtlInSeconds: 0 });
  });

  it('can be set from stack props, which win over context', () => {
    fromProps.template.hasResourceProperties('AWS::ApiGateway::Authorizer', { AuthorizerResultTtlInSeconds: 60 });
  });

  it('reaches the stage on deploy: a new TTL is a new deployment (logical id), and the stage points at it', () => {
    const deployment = (context: Record<string, unknown>) => {
      const { json } = synth(context);
      const [[id] = []] = ofType(json, 'AWS::ApiGateway::Deployment');
      const [[, stage] = []] = ofType(json, 'AWS::ApiGateway::Stage');
      assert.ok(id);
      assert.deepEqual(stage?.Properties?.DeploymentId, { Ref: id });
      return id;
    };
    const ttl = (seconds: number, extra: Record<string, unknown> = {}) => ({ 'tokengate:authorizerCacheTtlSeconds': seconds, ...extra });
    assert.notEqual(deployment(ttl(60)), deployment(ttl(120)));
    // What the cdk.json flag @aws-cdk/aws-apigateway:authorizerChangeDeploymentLogicalId fixes: without it the
    // deployment keeps its id, CloudFormation creates no new deployment, and the stage keeps serving the old TTL.
    const off = { '@aws-cdk/aws-apigateway:authorizerChangeDeploymentLogicalId': false };
    assert.equal(deployment(ttl(60, off)), deployment(ttl(120, off)));
  });

  it('may equal the access-token lifetime but not exceed it, from context or from stack props', () => {
    const settings = (over: Record<string, unknown>) => validateSettings({ issuer: 'https://auth.example.com', audience: 'a', ...over });
    assert.equal(settings({ accessTokenTtlSeconds: 300, authorizerCacheTtlSeconds: 300 }).authorizerCacheTtlSeconds, 300);
    assert.throws(() => settings({ accessTokenTtlSeconds: 300, authorizerCacheTtlSeconds: 301 }), /authorizerCacheTtlSeconds: must not exceed accessTokenTtlSeconds \(300\)/);
    // The default cache TTL (300) against a shorter token lifetime set alone.
    assert.throws(() => settings({ accessTokenTtlSeconds: 120 }), TokengateConfigError);
    assert.throws(
      () => build(new App({ context: baseContext() }), 'Props', { settings: { accessTokenTtlSeconds: 600, authorizerCacheTtlSeconds: 900 } }),
      /must not exceed accessTokenTtlSeconds \(600\)/,
    );
  });
});

describe('stage and cookie path', () => {
  it('uses Path=/ by default (the __Host- cookie), and takes an explicit path (custom domain)', () => {
    const env = (x: typeof variant, name: 'login' | 'refresh' | 'logout') =>
      (x.json.Resources[logicalId(x.stack, x.tokengate.functions[name].fn)]?.Properties?.Environment as { Variables: Record<string, unknown> }).Variables;
    for (const name of ['login', 'refresh', 'logout'] as const) {
      assert.equal(env(variant, name).REFRESH_COOKIE_PATH, '/');
      assert.equal(env(fromProps, name).REFRESH_COOKIE_PATH, '/auth');
    }
    fromProps.template.hasResourceProperties('AWS::ApiGateway::Stage', { StageName: 'v2' });
  });
});

describe('API Gateway account role', () => {
  it('is left alone when the organisation manages it', () => {
    fromProps.template.resourceCountIs('AWS::ApiGateway::Account', 0);
    variant.template.resourceCountIs('AWS::ApiGateway::Account', 1);
  });
});

describe('WAF rate rule (tokengate:wafRateLimitPerIp)', () => {
  it('is off by default: no web ACL, no association', () => {
    variant.template.resourceCountIs('AWS::WAFv2::WebACL', 0);
    variant.template.resourceCountIs('AWS::WAFv2::WebACLAssociation', 0);
  });

  it('creates a REGIONAL web ACL whose one rule limits each IP on /<stage>/auth/* and /auth/*, and attaches it to the stage', () => {
    const { stack, tokengate, template, json } = fromProps;
    template.resourceCountIs('AWS::WAFv2::WebACL', 1);
    const [[aclId, acl] = []] = ofType(json, 'AWS::WAFv2::WebACL');
    assert.ok(aclId && acl);
    const p = acl.Properties as { Scope: string; DefaultAction: unknown; Rules: Record<string, unknown>[]; CustomResponseBodies: Record<string, unknown> };
    assert.equal(p.Scope, 'REGIONAL');
    assert.deepEqual(p.DefaultAction, { Allow: {} });
    assert.equal(p.Rules.length, 1, 'one rule: one rule fee');
    const path = (prefix: string) => ({
      ByteMatchStatement: {
        FieldToMatch: { UriPath: {} },
        PositionalConstraint: 'STARTS_WITH',
        SearchString: prefix,
        TextTransformations: [{ Priority: 0, Type: 'URL_DECODE' }, { Priority: 1, Type: 'NORMALIZE_PATH' }],
      },
    });
    assert.deepEqual(p.Rules[0]?.Statement, {
      RateBasedStatement: {
        AggregateKeyType: 'IP',
        Limit: 100,
        EvaluationWindowSec: 300,
        // The stage of this synth is v2: the execute-api path carries it, a custom domain's does not.
        ScopeDownStatement: { OrStatement: { Statements: [path('/v2/auth/'), path('/auth/')] } },
      },
    });
    assert.deepEqual(p.Rules[0]?.Action, { Block: { CustomResponse: { ResponseCode: 429, CustomResponseBodyKey: 'TooManyRequests' } } });
    assert.deepEqual(p.CustomResponseBodies, { TooManyRequests: { ContentType: 'APPLICATION_JSON', Content: '{"message":"Too Many Requests"}' } });
    template.hasResourceProperties('AWS::WAFv2::WebACLAssociation', {
      WebACLArn: { 'Fn::GetAtt': [aclId, 'Arn'] },
      ResourceArn: Match.objectLike({ 'Fn::Join': Match.arrayWith([Match.arrayWith([{ Ref: logicalId(stack, tokengate.api.deploymentStage) }])]) }),
    });
  });
});

describe('throttling', () => {
  it('comes from settings', () => {
    variant.template.hasResourceProperties('AWS::ApiGateway::Stage', {
      MethodSettings: Match.arrayWith([Match.objectLike({ HttpMethod: '*', ResourcePath: '/*', ThrottlingRateLimit: 5 })]),
    });
  });
});

describe('without CORS origins', () => {
  it('has no preflight methods and no CORS headers on gateway responses or in function environments', () => {
    const { json } = fromProps;
    assert.ok(apiMethods(json).every((m) => m.method !== 'OPTIONS'));
    for (const [, r] of ofType(json, 'AWS::ApiGateway::GatewayResponse')) {
      const headers = Object.keys(r.Properties?.ResponseParameters as Record<string, string>);
      assert.ok(!headers.some((h) => h.includes('Access-Control')), headers.join());
    }
    for (const [, fn] of ofType(json, 'AWS::Lambda::Function')) {
      const env = (fn.Properties?.Environment as { Variables: Record<string, unknown> } | undefined)?.Variables ?? {};
      assert.equal(env.CORS_ALLOW_ORIGINS, undefined);
    }
  });
});

describe('a single CORS origin', () => {
  it('is a constant Access-Control-Allow-Origin on gateway responses', () => {
    variant.template.hasResourceProperties('AWS::ApiGateway::GatewayResponse', {
      ResponseType: 'UNAUTHORIZED',
      ResponseParameters: {
        'gatewayresponse.header.Access-Control-Allow-Origin': "'https://app.example.com'",
        'gatewayresponse.header.Access-Control-Allow-Credentials': "'true'",
        'gatewayresponse.header.Vary': "'Origin'",
        'gatewayresponse.header.Content-Type': "'application/json'",
        'gatewayresponse.header.WWW-Authenticate': "'Bearer'",
      },
    });
  });
});

describe('signing key rotation', () => {
  const { stack, tokengate, json } = variant;
  const keyArn = (name: string) => ({ 'Fn::GetAtt': [logicalId(stack, key(tokengate, name)), 'Arn'] });

  it('publishes every key, the active one first', () => {
    assert.equal(ofType(json, 'AWS::KMS::Key').length, 2);
    const [, cr] = ofType(json, 'Custom::TokengateJwks')[0] ?? [];
    assert.deepEqual(cr?.Properties?.KeyIds, [keyArn('k2025'), keyArn('k2024')]);
  });

  it('signs with the active key only, and says so in KMS_KEY_ID and signingKeys.activeKey (what a stack outputs)', () => {
    const statements = statementsByRole(json);
    const sign = [...statements.values()].flat().filter((s) => actionsOf([s]).includes('kms:Sign'));
    assert.equal(sign.length, 2);
    for (const s of sign) assert.deepEqual(s.Resource, keyArn('k2025'));
    const login = json.Resources[logicalId(stack, tokengate.functions.login.fn)]?.Properties?.Environment as { Variables: Record<string, unknown> };
    assert.deepEqual(login.Variables.KMS_KEY_ID, keyArn('k2025'));
    assert.deepEqual(stack.resolve(tokengate.signingKeys.activeKey.keyArn), keyArn('k2025'));
  });

  it('lets nobody sign with a published key that is not active', () => {
    const policy = json.Resources[logicalId(stack, key(tokengate, 'k2024'))]?.Properties?.KeyPolicy as { Statement: Statement[] };
    assert.deepEqual(policy.Statement.filter((s) => s.Effect === 'Deny'), [
      { Sid: 'NotActiveNobodySigns', Effect: 'Deny', Principal: { AWS: '*' }, Action: 'kms:Sign', Resource: '*' },
    ]);
    const active = json.Resources[logicalId(stack, key(tokengate, 'k2025'))]?.Properties?.KeyPolicy as { Statement: Statement[] };
    assert.equal(active.Statement.find((s) => s.Effect === 'Deny')?.Sid, 'OnlyTokengateSignersMaySign');
  });

  it('keeps each key\'s logical id when keys are added (no replacement on rotation)', () => {
    // Constructing is enough for logical ids; no template needed.
    const before = build(new App({ context: baseContext({ 'tokengate:signingKeys': ['k2024'] }) }), 'Test');
    assert.equal(logicalId(before.stack, key(before.tokengate, 'k2024')), logicalId(stack, key(tokengate, 'k2024')));
  });
});

describe('table removal policy', () => {
  it('can be "destroy" (for throwaway stacks), which also drops deletion protection', () => {
    variant.template.hasResource('AWS::DynamoDB::Table', { DeletionPolicy: 'Delete', Properties: { DeletionProtectionEnabled: false } });
  });
});

describe('bad settings fail the synth with a clear message', () => {
  const cases: [string, Record<string, unknown>, RegExp][] = [
    ['missing issuer', { 'tokengate:issuer': undefined }, /tokengate:issuer: is required/],
    ['http issuer', { 'tokengate:issuer': 'http://auth.example.com' }, /tokengate:issuer: must be an https URL/],
    ['missing audience', { 'tokengate:audience': '' }, /tokengate:audience: is required/],
    ['cache TTL not a number', { 'tokengate:authorizerCacheTtlSeconds': 'abc' }, /tokengate:authorizerCacheTtlSeconds: must be a whole number between 0 and 3600 \(got "abc"\)/],
    ['cache TTL too long', { 'tokengate:authorizerCacheTtlSeconds': 3601 }, /between 0 and 3600/],
    ['cache TTL negative', { 'tokengate:authorizerCacheTtlSeconds': -1 }, /between 0 and 3600/],
    ['cache TTL beyond the token lifetime', { 'tokengate:accessTokenTtlSeconds': 120, 'tokengate:authorizerCacheTtlSeconds': 300 }, /must not exceed accessTokenTtlSeconds \(120\)/],
    ['fractional TTL', { 'tokengate:accessTokenTtlSeconds': 900.5 }, /tokengate:accessTokenTtlSeconds/],
    ['refresh shorter than access', { 'tokengate:refreshTokenTtlSeconds': 600 }, /tokengate:refreshTokenTtlSeconds: must not be shorter/],
    ['wildcard origin', { 'tokengate:corsAllowOrigins': '*' }, /tokengate:corsAllowOrigins: each entry must be an origin/],
    ['origin with a path', { 'tokengate:corsAllowOrigins': ['https://app.example.com/'] }, /tokengate:corsAllowOrigins/],
    ['plain-http origin', { 'tokengate:corsAllowOrigins': 'http://app.example.com' }, /tokengate:corsAllowOrigins/],
    ['broken JSON list', { 'tokengate:corsAllowOrigins': '["https://a.example.com"' }, /must be a JSON array/],
    ['tracing not a boolean', { 'tokengate:tracing': 'yes' }, /tokengate:tracing: must be true or false/],
    ['unknown active key', { 'tokengate:signingKeys': 'a,b', 'tokengate:activeSigningKey': 'c' }, /tokengate:activeSigningKey: must be one of a, b/],
    ['several keys, none active', { 'tokengate:signingKeys': 'a,b' }, /tokengate:activeSigningKey: is required/],
    ['bad key name', { 'tokengate:signingKeys': ['key one'] }, /tokengate:signingKeys: names are/],
    ['odd log retention', { 'tokengate:logRetentionDays': 31 }, /tokengate:logRetentionDays/],
    ['unknown removal policy', { 'tokengate:tableRemovalPolicy': 'snapshot' }, /tokengate:tableRemovalPolicy/],
    ['cookie path without a slash', { 'tokengate:refreshCookiePath': 'auth' }, /tokengate:refreshCookiePath/],
    ['stage name with a slash', { 'tokengate:stageName': 'a/b' }, /tokengate:stageName/],
    ['global web ACL', { 'tokengate:webAclArn': 'arn:aws:wafv2:us-east-1:111122223333:global/webacl/x/y' }, /REGIONAL/],
    ['WAF rate limit below what WAF accepts', { 'tokengate:wafRateLimitPerIp': '9' }, /tokengate:wafRateLimitPerIp: must be a whole number between 10 and 2000000000/],
    ['WAF rate limit not a number', { 'tokengate:wafRateLimitPerIp': 'lots' }, /tokengate:wafRateLimitPerIp/],
    [
      'WAF rate limit and an own web ACL',
      { 'tokengate:wafRateLimitPerIp': 100, 'tokengate:webAclArn': 'arn:aws:wafv2:eu-west-1:111122223333:regional/webacl/tokengate/abc' },
      /tokengate:wafRateLimitPerIp: cannot be combined with webAclArn/,
    ],
  ];
  for (const [name, context, message] of cases) {
    it(name, () => {
      const merged = Object.entries({ ...baseContext(), ...context }).filter(([, v]) => v !== undefined);
      const app = new App({ context: Object.fromEntries(merged) });
      assert.throws(() => build(app, 'Bad'), (err: unknown) => {
        assert.ok(err instanceof TokengateConfigError, String(err));
        assert.match(err.message, message);
        return true;
      });
    });
  }

  it('accepts the values cdk.json ships with', () => {
    const settings = validateSettings({
      issuer: 'https://auth.tokengate.example', audience: 'tokengate-api', accessTokenTtlSeconds: 900,
      refreshTokenTtlSeconds: 2592000, authorizerCacheTtlSeconds: 300, revocationCacheTtlSeconds: 30, corsAllowOrigins: [],
    });
    assert.equal(settings.activeSigningKey, 'primary');
    assert.deepEqual(settings.signingKeys, ['primary']);
    assert.equal(settings.stageName, 'prod');
    assert.equal(settings.refreshCookiePath, undefined);
  });
});
