/**
 * Deploy day: identity settings that can't revert or ship as examples, the account-level role as a setting,
 * nothing left behind by a failed first create, the stage's execution logs in the stack, and a JWKS resource
 * that waits for its publisher and re-runs when the publisher's code changes.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from '@jest/globals';
import { App, Stack, type CfnElement } from 'aws-cdk-lib';
import {
  assertIdentityFromProjectFiles,
  NOT_DEPLOYABLE_PARAMETER,
  resolveSettings,
  TokengateConfigError,
  type TokengateSettings,
} from '../../lib/constructs/settings.js';
import { testContext } from '../helpers/test-context.js';
import { baseContext, build, logicalId, ofType, synth, type TemplateJson } from './support.js';

const REAL = { 'tokengate:issuer': 'https://auth.acme-corp.com', 'tokengate:audience': 'orders-api', 'tokengate:allowExampleIdentity': false };
const plain = synth();
const real = synth(REAL);
const noAccountRole = synth({ ...REAL, 'tokengate:manageAccountCloudWatchRole': 'false' });

type WithRules = TemplateJson & {
  Parameters?: Record<string, { Default?: string }>;
  Rules?: Record<string, { Assertions: { Assert: unknown; AssertDescription: string }[] }>;
};
const parameters = (json: TemplateJson) => (json as WithRules).Parameters ?? {};

/** The template's rules except CDK's own bootstrap-version check (its value comes from SSM at deploy time). */
const ours = (json: WithRules) => Object.entries(json.Rules ?? {}).filter(([id]) => id !== 'CheckBootstrapVersion').map(([, r]) => r);

/** Evaluates a rule assertion (Fn::Not, Fn::Equals, Ref) with every parameter at its default, as a plain deploy does. */
function holds(expr: unknown, params: Record<string, { Default?: string }>): unknown {
  const o = expr as Record<string, unknown>;
  if (typeof expr === 'string') return expr;
  if ('Ref' in o) return params[o.Ref as string]?.Default;
  if ('Fn::Not' in o) return !holds((o['Fn::Not'] as unknown[])[0], params);
  if ('Fn::Equals' in o) {
    const [a, b] = o['Fn::Equals'] as unknown[];
    return holds(a, params) === holds(b, params);
  }
  throw new Error(`unmodelled rule function ${JSON.stringify(expr)}`);
}

describe('the example identity', () => {
  it('is refused without the explicit test/offline switch, naming the setting', () => {
    for (const [context, message] of [
      [{ 'tokengate:issuer': 'https://auth.tokengate.example' }, /tokengate:issuer: is an example/],
      [{ 'tokengate:issuer': 'https://login.example.com' }, /tokengate:issuer: is an example/],
      [{ 'tokengate:issuer': 'https://localhost' }, /tokengate:issuer: is an example/],
      [{ 'tokengate:audience': 'tokengate-api' }, /tokengate:audience: is the placeholder/],
    ] as const) {
      const app = new App({ context: baseContext({ ...REAL, ...context }) });
      assert.throws(() => build(app, 'Bad'), (err: unknown) => err instanceof TokengateConfigError && message.test(err.message));
    }
  });

  it('with the switch, synthesizes a template CloudFormation refuses to deploy (a rule fails on the defaults)', () => {
    const json = plain.json as WithRules;
    assert.ok(parameters(json)[NOT_DEPLOYABLE_PARAMETER], 'the parameter is there');
    const failing = ours(json).flatMap((r) => r.Assertions).filter((a) => holds(a.Assert, parameters(json)) === false);
    assert.equal(failing.length, 1);
    assert.match(failing[0]?.AssertDescription ?? '', /example issuer\/audience .* not deployable: set your own tokengate:issuer and tokengate:audience in cdk\.json/);
  });

  it('a real issuer and audience give a deployable template', () => {
    assert.equal(parameters(real.json)[NOT_DEPLOYABLE_PARAMETER], undefined);
    for (const r of ours(real.json as WithRules)) for (const a of r.Assertions) assert.notEqual(holds(a.Assert, parameters(real.json)), false, a.AssertDescription);
    assert.equal(real.tokengate.settings.allowExampleIdentity, false);
  });
});

describe('identity settings come from cdk.json or cdk.context.json only (under the CDK CLI)', () => {
  const t = testContext();
  const project = (cdkJson: Record<string, unknown>, cdkContextJson?: Record<string, unknown>): string => {
    const dir = mkdtempSync(join(tmpdir(), 'tokengate-project-'));
    t.after(() => rmSync(dir, { recursive: true, force: true }));
    writeFileSync(join(dir, 'cdk.json'), JSON.stringify({ app: 'x', context: cdkJson }));
    if (cdkContextJson) writeFileSync(join(dir, 'cdk.context.json'), JSON.stringify(cdkContextJson));
    return dir;
  };
  const files = {
    'tokengate:issuer': 'https://auth.acme-corp.com',
    'tokengate:audience': 'orders-api',
    'tokengate:corsAllowOrigins': ['https://app.acme-corp.com'],
  };
  const resolveIn = (dir: string, context: Record<string, unknown>, props: Partial<TokengateSettings> = {}) =>
    resolveSettings(new Stack(new App({ context }), 'S'), props, { projectDir: dir });

  it('accepts the values of the files, lists as JSON included', () => {
    const s = resolveIn(project(files), { ...files, 'tokengate:tracing': 'true' });
    assert.equal(s.issuer, 'https://auth.acme-corp.com');
    assert.deepEqual(s.corsAllowOrigins, ['https://app.acme-corp.com']);
    assert.equal(s.tracing, true, 'other settings may still come from -c');
  });

  it('accepts cdk.context.json, which wins over cdk.json as in the CLI', () => {
    const dir = project(files, { 'tokengate:signingKeys': ['primary', 'k2'], 'tokengate:activeSigningKey': 'k2' });
    const s = resolveIn(dir, { ...files, 'tokengate:signingKeys': ['primary', 'k2'], 'tokengate:activeSigningKey': 'k2' });
    assert.equal(s.activeSigningKey, 'k2');
  });

  it('refuses a value that came from -c (or ~/.cdk.json): the next plain deploy would revert it', () => {
    for (const [key, value] of [
      ['issuer', 'https://auth2.acme-corp.com'],
      ['audience', 'other-api'],
      ['corsAllowOrigins', 'https://app.acme-corp.com'], // the same origin, but as -c passes it: not what the file says
      ['signingKeys', 'primary,k2'],
    ] as const) {
      assert.throws(
        () => resolveIn(project(files), { ...files, [`tokengate:${key}`]: value, 'tokengate:activeSigningKey': 'primary' }),
        new RegExp(`tokengate:${key}: identity settings are read from cdk.json or cdk.context.json only`),
      );
    }
  });

  it('does not apply to stack props (code is one place too) or outside the CLI', () => {
    assert.doesNotThrow(() => resolveIn(project(files), files, { issuer: 'https://auth3.acme-corp.com' }));
    assert.doesNotThrow(() => assertIdentityFromProjectFiles(project(files), () => undefined));
  });
});

describe('the account-level API Gateway CloudWatch role', () => {
  it('is set by default, retained on update and delete but not after a failed first create', () => {
    for (const type of ['AWS::ApiGateway::Account', 'AWS::IAM::Role']) {
      const found = ofType(real.json, type).filter(([id]) => type !== 'AWS::IAM::Role' || id.startsWith('TokengateHttpApiCloudWatchRole'));
      assert.equal(found.length, 1, type);
      assert.equal(found[0]?.[1].DeletionPolicy, 'RetainExceptOnCreate', type);
    }
  });

  it('is a setting: tokengate:manageAccountCloudWatchRole=false leaves the account alone, no code edit', () => {
    assert.equal(ofType(noAccountRole.json, 'AWS::ApiGateway::Account').length, 0);
    assert.ok(!Object.keys(noAccountRole.json.Resources).some((id) => id.startsWith('TokengateHttpApiCloudWatchRole')));
    const [[, stage] = []] = ofType(noAccountRole.json, 'AWS::ApiGateway::Stage');
    assert.ok(stage?.Properties?.AccessLogSetting, 'access logs stay on (they need a role in the account)');
  });
});

describe('no leftovers', () => {
  it('signing keys are kept on update and delete, but removed when the first create fails', () => {
    for (const [, key] of ofType(real.json, 'AWS::KMS::Key')) {
      assert.equal(key.DeletionPolicy, 'RetainExceptOnCreate');
      assert.equal(key.UpdateReplacePolicy, 'Retain');
    }
  });

  it('the table keeps Retain (its cleanup is documented)', () => {
    const [[, table] = []] = ofType(real.json, 'AWS::DynamoDB::Table');
    assert.equal(table?.DeletionPolicy, 'Retain');
  });

  it('the stage\'s execution log group is part of the stack, with retention, created before the stage', () => {
    const { stack, tokengate, json } = real;
    const groups = ofType(json, 'AWS::Logs::LogGroup').filter(([, g]) => JSON.stringify(g.Properties?.LogGroupName ?? '').includes('API-Gateway-Execution-Logs_'));
    assert.equal(groups.length, 1);
    const [id, group] = groups[0] ?? [];
    assert.deepEqual(group?.Properties?.LogGroupName, {
      'Fn::Join': ['', ['API-Gateway-Execution-Logs_', { Ref: logicalId(stack, tokengate.api) }, '/prod']],
    });
    assert.equal(group?.Properties?.RetentionInDays, 30);
    assert.equal(group?.DeletionPolicy, 'Delete');
    const [[, stage] = []] = ofType(json, 'AWS::ApiGateway::Stage');
    assert.ok([(stage as { DependsOn?: string[] }).DependsOn ?? []].flat().includes(id as string));
  });
});

describe('the JWKS custom resource', () => {
  const { stack, tokengate, json } = real;
  const [crId, cr] = ofType(json, 'Custom::TokengateJwks')[0] ?? [];
  const publisherFn = json.Resources[logicalId(stack, tokengate.signingKeys.publisher.fn)];

  it('runs after its publisher and the publisher role\'s policy (the kms:GetPublicKey grant)', () => {
    assert.ok(crId && cr);
    const dependsOn = [(cr as { DependsOn?: string[] }).DependsOn ?? []].flat();
    const policy = tokengate.signingKeys.publisher.role.node.tryFindChild('DefaultPolicy');
    assert.ok(policy);
    assert.ok(dependsOn.includes(stack.getLogicalId(policy.node.defaultChild as CfnElement)), JSON.stringify(dependsOn));
    assert.ok(dependsOn.includes(logicalId(stack, tokengate.signingKeys.publisher.fn)));
  });

  it('re-runs when the publisher\'s code changes: its asset key is one of the resource\'s properties', () => {
    const code = publisherFn?.Properties?.Code as { S3Key: string };
    assert.match(code.S3Key, /^[0-9a-f]{64}\.zip$/);
    assert.equal(cr?.Properties?.PublisherCode, code.S3Key);
  });

  it('gives the publisher time for its ~90 s of retries', () => {
    assert.ok((publisherFn?.Properties?.Timeout as number) >= 100);
  });
});
