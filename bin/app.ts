#!/usr/bin/env node
/**
 * The sample CDK app, written exactly as a team writes its own: the shop's two services (orders, inventory) as
 * Lambda functions with a DynamoDB table each, put behind tokengate with the `Tokengate` construct and the routes
 * of the shop's declaration (examples/shop/app.ts). It uses tokengate's public entry point only (lib/index.ts,
 * the package's root export) and runs the cdk-nag AWS Solutions checks over the app (cdk-nag v3 is a CDK
 * policy-validation plugin: an unacknowledged finding fails the synth).
 *
 * Settings come from cdk.json or `-c tokengate:<name>=…`. Without CDK_DEFAULT_ACCOUNT/REGION the stack is
 * environment-agnostic, so `npm run synth` works offline with no credentials.
 */
import { dirname, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { App, CfnOutput, Duration, RemovalPolicy, Stack, Validations, type StackProps } from 'aws-cdk-lib';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { NodejsFunction, OutputFormat } from 'aws-cdk-lib/aws-lambda-nodejs';
import * as logs from 'aws-cdk-lib/aws-logs';
import { AwsSolutionsChecks } from 'cdk-nag';
import type { Construct } from 'constructs';
import { Tokengate } from '../lib/index.js';
import shop from '../examples/shop/app.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
/** Service entries in the declaration are relative to the file that declares the app. */
const SHOP_DIR = resolve(ROOT, 'examples/shop');

type ShopService = keyof typeof shop.services;

export class ShopStack extends Stack {
  readonly tokengate: Tokengate<ShopService>;
  readonly services: Readonly<Record<ShopService, NodejsFunction>>;
  /** Each service's tables, by the environment variable that carries the table's name to it. */
  readonly tables: Readonly<Record<ShopService, Readonly<Record<string, dynamodb.Table>>>>;

  constructor(scope: Construct, id: string, props?: StackProps) {
    super(scope, id, props);

    // Each service owns its data: the tables its declaration names (the same declaration `npm start` reads), and
    // item access to those tables only — exactly the operations its store sends.
    const tables = {
      orders: this.tables_('orders', 'Orders'),
      inventory: this.tables_('inventory', 'Inventory'),
    };
    const services = {
      orders: this.service('orders', 'Orders', tables.orders),
      inventory: this.service('inventory', 'Inventory', tables.inventory),
    };
    for (const table of Object.values(tables.orders)) {
      table.grant(services.orders, 'dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem', 'dynamodb:DeleteItem', 'dynamodb:Query');
    }
    for (const table of Object.values(tables.inventory)) {
      table.grant(services.inventory, 'dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem');
    }

    this.tokengate = new Tokengate(this, 'Tokengate', { routes: shop.routes, integrations: services });

    // API_URL (orders calls inventory through the gateway, with the caller's token), what a service needs to verify
    // a token itself (JWKS_URL, TOKEN_ISSUER, TOKEN_AUDIENCE) and the CORS origins, if any.
    for (const fn of Object.values(services)) {
      for (const [name, value] of Object.entries(this.tokengate.serviceEnvironment)) fn.addEnvironment(name, value);
    }
    this.services = services;
    this.tables = tables;

    new CfnOutput(this, 'ApiUrl', { value: this.tokengate.apiUrl, description: 'Base URL of the API stage' });
    new CfnOutput(this, 'JwksUrl', { value: this.tokengate.jwksUrl, description: 'Public signing keys (JWKS)' });
    new CfnOutput(this, 'TableName', { value: this.tokengate.table.tableName, description: 'tokengate table (for npm run users)' });
    new CfnOutput(this, 'SigningKeyArn', { value: this.tokengate.signingKeys.activeKey.keyArn, description: 'Active signing key' });
    new CfnOutput(this, 'AuthorizerFunctionName', { value: this.tokengate.functions.authorizer.fn.functionName, description: 'TOKEN authorizer function' });
    new CfnOutput(this, 'OrdersTableName', { value: tables.orders.ORDERS_TABLE!.tableName, description: 'The orders service table' });
    new CfnOutput(this, 'InventoryTableName', { value: tables.inventory.INVENTORY_TABLE!.tableName, description: 'The inventory service table (stock by sku)' });
  }

  /** The tables a service declares (`tables: { ENV_NAME: { partitionKey, sortKey? } }`), keyed by that env name. */
  private tables_(name: ShopService, id: string): Record<string, dynamodb.Table> {
    const out: Record<string, dynamodb.Table> = {};
    for (const [envName, decl] of Object.entries(shop.services[name].tables ?? {})) {
      out[envName] = new dynamodb.Table(this, `${id}${envName.split('_').map((w) => w[0] + w.slice(1).toLowerCase()).join('')}`, {
        partitionKey: { name: decl.partitionKey, type: dynamodb.AttributeType.STRING },
        ...(decl.sortKey ? { sortKey: { name: decl.sortKey, type: dynamodb.AttributeType.STRING } } : {}),
        billingMode: dynamodb.BillingMode.PAY_PER_REQUEST,
        pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
        // Sample data: it goes with the stack.
        removalPolicy: RemovalPolicy.DESTROY,
      });
    }
    return out;
  }

  /** A service's function: bundled from its declared entry, with a role that may write its own logs and nothing else yet. */
  private service(name: ShopService, id: string, tables: Readonly<Record<string, dynamodb.Table>>): NodejsFunction {
    const declared = shop.services[name];
    const logGroup = new logs.LogGroup(this, `${id}Logs`, { retention: logs.RetentionDays.ONE_MONTH, removalPolicy: RemovalPolicy.DESTROY });
    const role = new iam.Role(this, `${id}Role`, { assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'), description: `shop ${name} service` });
    logGroup.grantWrite(role);
    return new NodejsFunction(this, id, {
      entry: resolve(SHOP_DIR, declared.entry),
      handler: declared.exportName ?? 'handler',
      ...(declared.description ? { description: declared.description } : {}),
      runtime: lambda.Runtime.NODEJS_24_X,
      architecture: lambda.Architecture.ARM_64,
      memorySize: 256,
      timeout: Duration.seconds(10),
      role,
      logGroup,
      environment: {
        ...Object.fromEntries(Object.entries(tables).map(([envName, table]) => [envName, table.tableName])),
        NODE_OPTIONS: '--enable-source-maps',
      },
      projectRoot: ROOT,
      depsLockFilePath: resolve(ROOT, 'package-lock.json'),
      bundling: {
        format: OutputFormat.ESM,
        mainFields: ['module', 'main'],
        // CommonJS dependencies inside an ESM bundle may call require().
        banner: "import { createRequire } from 'node:module'; const require = createRequire(import.meta.url);",
        minify: true,
        keepNames: true,
        sourceMap: true,
        sourcesContent: false,
        // The AWS SDK bundled and tree-shaken too, not the runtime's copy: a faster cold start, and the version
        // the tests ran against (NodejsFunction would leave @aws-sdk/* external by default).
        externalModules: [],
      },
    });
  }
}

/** The app as `cdk synth` / `cdk deploy` run it. */
export function main(): App {
  const app = new App();
  const account = process.env.CDK_DEFAULT_ACCOUNT;
  const region = process.env.CDK_DEFAULT_REGION;
  new ShopStack(app, 'Tokengate', {
    description: 'tokengate: JWT authentication and API Gateway token authorizer, with the sample shop behind it',
    ...(account && region ? { env: { account, region } } : {}),
  });
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app, { verbose: true }));
  return app;
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) main();
