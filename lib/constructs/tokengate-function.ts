/**
 * One Lambda function with the project's defaults in one place: Node.js 24 on ARM64, ESM bundle made by the
 * local esbuild (no Docker), source maps, a log group with retention, and a role of its own that starts with
 * nothing but "write to my log group". Grants are explicit and minimal (`grantTable`).
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Duration, RemovalPolicy, Stack, Validations } from 'aws-cdk-lib';
import type { ITable } from 'aws-cdk-lib/aws-dynamodb';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { LogLevel, NodejsFunction, OutputFormat } from 'aws-cdk-lib/aws-lambda-nodejs';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { ENV } from './function-env.js';
import { LAMBDA_BUNDLE } from '../bundling.js';

export const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));
export const LAMBDAS_DIR = fileURLToPath(new URL('../../lambdas/', import.meta.url));

/**
 * A function's handler module: `lambdas/<dir>/handler.ts` in this repository; in the installed package (this
 * file is then dist/lib/constructs/tokengate-function.js) the compiled `dist/lambdas/<dir>/handler.js`.
 */
export function handlerEntry(handlerDir: string): string {
  const source = `${LAMBDAS_DIR}${handlerDir}/handler.ts`;
  const compiled = `${LAMBDAS_DIR}${handlerDir}/handler.js`;
  return !existsSync(source) && existsSync(compiled) ? compiled : source;
}

/**
 * The root NodejsFunction bundles from (the entries must be under it) and the lock file it asks for (which only
 * picks the package manager that runs esbuild: npm). In this repository: the repository and its package-lock.json.
 * In the installed package (this file in dist/lib/constructs/): the package's own folder, whose package.json stands
 * in for the lock file npm never ships.
 */
const PACKAGE_ROOT = existsSync(`${REPO_ROOT}package.json`) ? REPO_ROOT : fileURLToPath(new URL('../../../', import.meta.url));
const DEPS_LOCK_FILE = existsSync(`${PACKAGE_ROOT}package-lock.json`) ? `${PACKAGE_ROOT}package-lock.json` : `${PACKAGE_ROOT}package.json`;

/** The newest Node.js runtime Lambda offers (cdk-nag AwsSolutions-L1 asks for the latest). */
export const RUNTIME = lambda.Runtime.NODEJS_24_X;

/**
 * DynamoDB item actions a function may be granted. `Scan` is deliberately not in the list: no function
 * ever reads the whole table (the admin CLI lists users with its own credentials).
 */
export type TableAction =
  | 'GetItem'
  | 'BatchGetItem'
  | 'PutItem'
  | 'UpdateItem'
  | 'DeleteItem'
  | 'Query'
  | 'ConditionCheckItem';

export interface TableGrantOptions {
  /**
   * The grant covers only items whose partition key matches one of these patterns (`dynamodb:LeadingKeys`,
   * `ForAllValues:StringLike`), e.g. `['SESSION#*', 'USER#*']`. Required: no function gets the whole table.
   */
  readonly leadingKeys: readonly string[];
  /**
   * Attribute-level control for `UpdateItem` (the only action it may be used with: PutItem and DeleteItem
   * replace whole items, reads would also need `dynamodb:Select`): the request may name only these attributes,
   * in its key, update and condition expressions (`dynamodb:Attributes`, `ForAllValues:StringEquals`), and may
   * only ask for the updated attributes back (`dynamodb:ReturnValues` NONE, UPDATED_OLD or UPDATED_NEW), as the
   * DynamoDB developer guide documents. List the table's key attributes too: DynamoDB needs them.
   * @default any attribute
   */
  readonly attributes?: readonly string[];
}

export interface TokengateFunctionProps {
  /** Folder under `lambdas/` whose `handler.ts` exports `handler`. */
  readonly handlerDir: string;
  readonly description: string;
  /** @default 256 */
  readonly memorySize?: number;
  /** @default Duration.seconds(5) */
  readonly timeout?: Duration;
  /** Application environment; runtime settings (NODE_OPTIONS, Powertools) are added here. @default {} */
  readonly environment?: Readonly<Record<string, string>>;
  /** @default RetentionDays.ONE_MONTH */
  readonly logRetention?: logs.RetentionDays;
  /** X-Ray active tracing. @default false */
  readonly tracing?: boolean;
  /** Powertools service name (logs and metrics dimension). @default `tokengate-<handlerDir>` */
  readonly serviceName?: string;
  /** esbuild `define` entries: values compiled into the bundle (the authorizer's route table). @default none */
  readonly define?: Readonly<Record<string, string>>;
}

export class TokengateFunction extends Construct {
  readonly fn: lambda.Function;
  readonly role: iam.Role;
  readonly logGroup: logs.LogGroup;

  constructor(scope: Construct, id: string, props: TokengateFunctionProps) {
    super(scope, id);

    this.logGroup = new logs.LogGroup(this, 'Logs', {
      retention: props.logRetention ?? logs.RetentionDays.ONE_MONTH,
      // Logs belong to the deployment: they go with `cdk destroy` (after their retention they would go anyway).
      removalPolicy: RemovalPolicy.DESTROY,
    });
    // Our own role instead of the default one with the AWSLambdaBasicExecutionRole managed policy: that policy
    // may write to any log group in the account; this role may write to its own group only.
    this.role = new iam.Role(this, 'Role', {
      assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
      description: `tokengate ${props.handlerDir} function`,
    });
    this.logGroup.grantWrite(this.role);
    if (props.tracing) {
      Validations.of(this.role).acknowledge({
        id: 'AwsSolutions-IAM5[Resource::*]',
        reason: 'X-Ray tracing (enabled by tokengate:tracing): xray:PutTraceSegments and xray:PutTelemetryRecords do not support resource-level permissions. No other statement of this role uses "*".',
      });
    }

    const common = {
      description: props.description,
      runtime: RUNTIME,
      architecture: lambda.Architecture.ARM_64,
      memorySize: props.memorySize ?? 256,
      timeout: props.timeout ?? Duration.seconds(5),
      role: this.role,
      logGroup: this.logGroup,
      tracing: props.tracing ? lambda.Tracing.ACTIVE : lambda.Tracing.DISABLED,
      environment: {
        ...props.environment,
        [ENV.NODE_OPTIONS]: '--enable-source-maps',
        [ENV.POWERTOOLS_SERVICE_NAME]: props.serviceName ?? `tokengate-${props.handlerDir}`,
        [ENV.POWERTOOLS_METRICS_NAMESPACE]: 'tokengate',
      },
    } satisfies Partial<lambda.FunctionProps>;

    const entry = handlerEntry(props.handlerDir);
    if (existsSync(entry) || Stack.of(this).bundlingRequired) {
      this.fn = new NodejsFunction(this, 'Function', {
        ...common,
        entry,
        handler: 'handler',
        projectRoot: PACKAGE_ROOT,
        depsLockFilePath: DEPS_LOCK_FILE,
        bundling: {
          forceDockerBundling: false,
          // The same settings the bundle tests and the benchmark use (lib/bundling.ts).
          format: OutputFormat.ESM,
          mainFields: [...LAMBDA_BUNDLE.mainFields],
          banner: LAMBDA_BUNDLE.banner,
          minify: LAMBDA_BUNDLE.minify,
          keepNames: LAMBDA_BUNDLE.keepNames,
          sourceMap: LAMBDA_BUNDLE.sourcemap,
          sourcesContent: false,
          externalModules: [...LAMBDA_BUNDLE.external],
          ...(props.define ? { define: { ...props.define } } : {}),
          logLevel: LogLevel.WARNING,
        },
      });
    } else {
      // Only reachable when bundling is skipped for this stack (tests, `cdk synth --exclusively` of another
      // stack) and the handler source does not exist yet: such a template is never deployed, and this keeps
      // infrastructure tests independent of handler code. A real synth of this stack still fails loudly above.
      this.fn = new lambda.Function(this, 'Function', {
        ...common,
        handler: 'index.handler',
        code: lambda.Code.fromInline(
          `exports.handler = async () => { throw new Error('lambdas/${props.handlerDir}/handler.ts was missing at synth'); };`,
        ),
      });
    }
  }

  /**
   * Grants exactly `actions` on the table (and nothing on its indexes), for some partition keys only, and for
   * UpdateItem optionally some attributes only: one statement per call (the `minimizePolicies` feature flag may
   * merge statements whose conditions are equal, which allows the same). Setting TABLE_NAME is the caller's job
   * (see FUNCTION_ENV), so the env contract stays in one table.
   */
  grantTable(table: ITable, actions: readonly TableAction[], options: TableGrantOptions): void {
    if (actions.length === 0) return;
    if (options.leadingKeys.length === 0) throw new Error(`${this.node.path}: a table grant needs leading keys`);
    const conditions: Record<string, Record<string, string[]>> = {
      'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': [...options.leadingKeys] },
    };
    if (options.attributes) {
      if (actions.some((a) => a !== 'UpdateItem')) {
        throw new Error(`${this.node.path}: attribute-level grants are for UpdateItem only, got ${actions.join(', ')}`);
      }
      conditions['ForAllValues:StringEquals'] = { 'dynamodb:Attributes': [...options.attributes] };
      conditions['StringEquals'] = { 'dynamodb:ReturnValues': ['NONE', 'UPDATED_OLD', 'UPDATED_NEW'] };
    }
    this.role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        actions: actions.map((a) => `dynamodb:${a}`),
        resources: [table.tableArn],
        conditions,
      }),
    );
  }
}
