/**
 * Helpers for the infrastructure tests: synthesize a team's stack with the Tokengate construct without bundling
 * (esbuild is not under test here, and the handler sources need not exist), and read the template back as
 * routes, policies, functions.
 */
import { readFileSync } from 'node:fs';
import { App, RemovalPolicy, Stack, type CfnResource } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import type { Construct, IConstruct } from 'constructs';
import { AUTH_ROUTES, OPENAPI_ROUTE, Tokengate, type Route, type TokengateProps } from '../../lib/index.js';

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

/**
 * A team's own routes and function (not the sample app): an orders service with a public health check. These
 * are the routes the stack served before the construct, so every earlier assertion still applies to them.
 */
export const TEAM_ROUTES: readonly Route<'orders'>[] = [
  { method: 'GET', path: '/orders', permission: 'orders:read', handler: 'orders' },
  { method: 'POST', path: '/orders', permission: 'orders:write', handler: 'orders' },
  { method: 'GET', path: '/orders/{id}', permission: 'orders:read', handler: 'orders' },
  { method: 'DELETE', path: '/orders/{id}', permission: 'orders:admin', handler: 'orders' },
  { method: 'GET', path: '/health', permission: null, handler: 'orders' },
];
/** Every route the test API serves: tokengate's, then the team's. */
export const ROUTES: readonly Route[] = [...AUTH_ROUTES, OPENAPI_ROUTE, ...TEAM_ROUTES];

/** A team's function as a team would write it (inline code here): its own role, which may write its own logs. */
export function teamFunction(scope: Construct, id: string): lambda.Function {
  const logGroup = new logs.LogGroup(scope, `${id}Logs`, { retention: logs.RetentionDays.ONE_MONTH, removalPolicy: RemovalPolicy.DESTROY });
  const role = new iam.Role(scope, `${id}Role`, { assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com') });
  logGroup.grantWrite(role);
  return new lambda.Function(scope, id, {
    runtime: lambda.Runtime.NODEJS_24_X,
    architecture: lambda.Architecture.ARM_64,
    handler: 'index.handler',
    code: lambda.Code.fromInline('exports.handler = async () => ({ statusCode: 200, body: "{}" });'),
    role,
    logGroup,
  });
}

export interface Built {
  stack: Stack;
  tokengate: Tokengate;
  /** The team's function. */
  orders: lambda.Function;
}

/** A team's stack: its function, then the construct with its routes (props override the defaults). */
export function build(app: App, id = 'Test', props: Partial<TokengateProps> = {}): Built {
  const stack = new Stack(app, id);
  const orders = teamFunction(stack, 'Orders');
  const tokengate = new Tokengate(stack, 'Tokengate', { routes: TEAM_ROUTES, integrations: { orders }, ...props });
  return { stack, tokengate, orders };
}

export interface Synth extends Built {
  app: App;
  template: Template;
  json: TemplateJson;
}

export function synth(context: Record<string, unknown> = {}, props: Partial<TokengateProps> = {}): Synth {
  const app = new App({ context: baseContext(context) });
  const built = build(app, 'Test', props);
  const template = Template.fromStack(built.stack);
  return { app, ...built, template, json: template.toJSON() as TemplateJson };
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

export const logicalId = (stack: Stack, construct: IConstruct): string =>
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
