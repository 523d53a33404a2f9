/**
 * cdk-nag AWS Solutions checks: zero unacknowledged findings (errors or warnings), in the default shape and in
 * the shape with every optional feature on, and every acknowledgement carries a real reason.
 *
 * cdk-nag v3 is a CDK policy-validation plugin (`Validations.of(app).addPlugins(...)`, as bin/app.ts does);
 * its findings are a validation report rather than annotations, so the test asks the pack directly with
 * `validateScope` after synthesis.
 */
import assert from 'node:assert/strict';
import { describe, it } from '@jest/globals';
import { Annotations, Match } from 'aws-cdk-lib/assertions';
import { Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import type { IConstruct } from 'constructs';
import { synth } from './support.js';

function findings(stack: IConstruct): string[] {
  const report = new AwsSolutionsChecks(undefined, { verbose: true }).validateScope(stack);
  return report.violations.flatMap((v) =>
    v.violatingResources.map((r) => `${v.severity} ${v.ruleName} at ${r.constructPath}: ${v.description}`),
  );
}

function acknowledgements(root: IConstruct): { path: string; id: string; reason: string }[] {
  return root.node.findAll().flatMap((c) =>
    c.node.metadata
      .filter((m) => m.type === Validations.ACKNOWLEDGED_RULES_METADATA_KEY)
      .flatMap((m) =>
        Object.entries(m.data as Record<string, string>).map(([id, reason]) => ({
          path: c.node.path,
          id: id.replace(/^annotation::/i, ''),
          reason,
        })),
      ),
  );
}

const plain = synth({ 'tokengate:corsAllowOrigins': 'https://app.example.com' });
const everything = synth({
  'tokengate:corsAllowOrigins': '["https://app.example.com","https://admin.example.com"]',
  'tokengate:tracing': 'true',
  'tokengate:webAclArn': 'arn:aws:wafv2:eu-west-1:111122223333:regional/webacl/tokengate/abc',
  'tokengate:tableRemovalPolicy': 'destroy',
  'tokengate:signingKeys': 'k2024,k2025',
  'tokengate:activeSigningKey': 'k2025',
});
const rateRule = synth({ 'tokengate:wafRateLimitPerIp': 300 });

describe('cdk-nag AwsSolutions', () => {
  for (const [name, s] of [['default settings', plain], ['tracing, WAF, CORS, two keys', everything], ['WAF rate rule', rateRule]] as const) {
    it(`has no unacknowledged error or warning (${name})`, () => {
      assert.deepEqual(findings(s.stack), []);
      // Nothing reaches the annotations channel either (cdk-nag v2 style, or CDK's own warnings about nag ids).
      assert.deepEqual(Annotations.fromStack(s.stack).findError('*', Match.stringLikeRegexp('AwsSolutions-.*')), []);
      assert.deepEqual(Annotations.fromStack(s.stack).findWarning('*', Match.stringLikeRegexp('AwsSolutions-.*')), []);
    });
  }

  it('acknowledges exactly these findings (the check is live: ignoring acknowledgements, they all fire)', () => {
    // Same pack, acknowledgements ignored (test-only: replaces the pack's private lookup on this instance).
    const pack = new AwsSolutionsChecks();
    Object.assign(pack, { isAcknowledged: () => false });
    const rules = (stack: IConstruct) => [...new Set(pack.validateScope(stack).violations.map((v) => v.ruleName.replace(/\[.*$/, '')))].sort();
    assert.deepEqual(rules(plain.stack), [
      'AwsSolutions-APIG3', // no web ACL unless tokengate:webAclArn is set
      'AwsSolutions-APIG4', // public routes (login, refresh, logout, JWKS) and CORS preflights
      'AwsSolutions-COG4', // a TOKEN authorizer, not Cognito
      'AwsSolutions-IAM4', // API Gateway's account-level CloudWatch role
      'AwsSolutions-IAM5', // the provider framework invoking the publisher by qualified ARN
    ]);
    // With tracing on, X-Ray's Resource "*" is acknowledged too; with a web ACL (own or the rate rule's), APIG3 is gone.
    assert.deepEqual(rules(everything.stack), ['AwsSolutions-APIG4', 'AwsSolutions-COG4', 'AwsSolutions-IAM4', 'AwsSolutions-IAM5']);
    assert.deepEqual(rules(rateRule.stack), ['AwsSolutions-APIG4', 'AwsSolutions-COG4', 'AwsSolutions-IAM4', 'AwsSolutions-IAM5']);
    assert.ok(!acknowledgements(rateRule.stack).some((a) => a.id === 'AwsSolutions-APIG3'));
    const xray = pack.validateScope(everything.stack).violations.find((v) => v.ruleName === 'AwsSolutions-IAM5[Resource::*]');
    // tokengate's five functions and the JWKS publisher (the team's function is not traced in this test).
    assert.ok(xray && xray.violatingResources.length >= Object.keys(everything.tokengate.functions).length + 1, 'every traced function role');
  });

  it('gives every acknowledgement a specific reason', () => {
    const acks = [...acknowledgements(plain.stack), ...acknowledgements(everything.stack)];
    assert.ok(acks.length > 0);
    for (const a of acks) {
      assert.match(a.id, /^AwsSolutions-[A-Z0-9]+(\[.+\])?$/, a.path);
      assert.ok(a.reason.length >= 60, `${a.path} ${a.id}: reason too thin: ${a.reason}`);
    }
    // No blanket acknowledgement at stack level: each one sits on the construct it is about.
    assert.ok(acks.every((a) => a.path.split('/').length > 1), 'stack-wide acknowledgement found');
  });
});
