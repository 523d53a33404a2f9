/**
 * Helpers for the infrastructure tests: synthesize the stack without bundling (esbuild is not under test
 * here, and the handler sources need not exist), and read the template back as routes, policies, functions.
 */
import { readFileSync } from 'node:fs';
import { App, type CfnResource } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import type { IConstruct } from 'constructs';
import { TokengateStack, type TokengateStackProps } from '../../lib/tokengate-stack.js';

export const ISSUER = 'https://auth.test.example';
export const AUDIENCE = 'test-api';

/**
 * The feature flags of cdk.json (every context value that is not a `tokengate:` setting), so that the tests
 * synthesize what `cdk synth` synthesizes: a flag changes logical ids, policies and properties.
 */
export const FEATURE_FLAGS: Readonly<Record<string, unknown>> = Object.fromEntries(
  Object.entries((JSON.parse(readFileSync(new URL('../../cdk.json', import.meta.url), 'utf8')) as { context: Record<string, unknown> }).context)
    .filter(([k]) => !k.startsWith('tokengate:')),
);

/**
 * Context every test starts from: cdk.json's feature flags, no bundling, the two required settings. The test
 * issuer is under a reserved example domain, so the explicit test switch `allowExampleIdentity` is on.
 */
export function baseContext(extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    ...FEATURE_FLAGS,
    'aws:cdk:bundling-stacks': [],
    'tokengate:issuer': ISSUER,
    'tokengate:audience': AUDIENCE,
    'tokengate:allowExampleIdentity': true,
    ...extra,
  };
}

export interface Synth {
  app: App;
  stack: TokengateStack;
  template: Template;
  json: TemplateJson;
}

export function synth(context: Record<string, unknown> = {}, props: TokengateStackProps = {}): Synth {
  const app = new App({ context: baseContext(context) });
  const stack = new TokengateStack(app, 'Test', props);
  const template = Template.fromStack(stack);
  return { app, stack, template, json: template.toJSON() as TemplateJson };
}

export interface CfnResourceJson {
  Type: string;
  Properties?: Record<string, unknown>;
  DeletionPolicy?: string;
  UpdateReplacePolicy?: string;
}
export interface TemplateJson {
  Resources: Record<string, CfnResourceJson>;
  Outputs?: Record<string, { Value: unknown }>;
}

export const logicalId = (stack: TokengateStack, construct: IConstruct): string =>
  stack.getLogicalId(construct.node.defaultChild as CfnResource);

export const ofType = (json: TemplateJson, type: string): [string, CfnResourceJson][] =>
  Object.entries(json.Resources).filter(([, r]) => r.Type === type);

/** Every API method as `{ method, path, authorizationType, authorizerId }`, paths rebuilt from the resource tree. */
export function apiMethods(json: TemplateJson) {
  const resources = Object.fromEntries(ofType(json, 'AWS::ApiGateway::Resource'));
  const pathOf = (resourceId: unknown): string => {
    const ref = (resourceId as { Ref?: string }).Ref;
    if (!ref) return ''; // Fn::GetAtt RestApi.RootResourceId
    const r = resources[ref];
    if (!r) throw new Error(`unknown resource ${ref}`);
    return `${pathOf(r.Properties?.ParentId)}/${r.Properties?.PathPart as string}`;
  };
  return ofType(json, 'AWS::ApiGateway::Method').map(([id, m]) => {
    const p = m.Properties ?? {};
    return {
      id,
      method: p.HttpMethod as string,
      path: pathOf(p.ResourceId) || '/',
      authorizationType: p.AuthorizationType as string,
      authorizerId: (p.AuthorizerId as { Ref?: string } | undefined)?.Ref,
      properties: p,
    };
  });
}

export interface Statement {
  Sid?: string;
  Effect: string;
  Principal?: unknown;
  Action: string | string[];
  Resource: unknown;
  Condition?: Record<string, Record<string, unknown>>;
}

/** Statements of the AWS::IAM::Policy resources attached to each role (by role logical id). */
export function statementsByRole(json: TemplateJson): Map<string, Statement[]> {
  const out = new Map<string, Statement[]>();
  for (const [, policy] of ofType(json, 'AWS::IAM::Policy')) {
    const doc = policy.Properties?.PolicyDocument as { Statement: Statement[] };
    for (const role of (policy.Properties?.Roles as { Ref: string }[]) ?? []) {
      out.set(role.Ref, [...(out.get(role.Ref) ?? []), ...doc.Statement]);
    }
  }
  return out;
}

export const actionsOf = (statements: readonly Statement[]): string[] =>
  statements.flatMap((s) => (Array.isArray(s.Action) ? s.Action : [s.Action]));
