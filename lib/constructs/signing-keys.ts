/**
 * The token signing keys (KMS, ECC_NIST_P256, SIGN_VERIFY) and their public JWKS, computed at deploy time.
 *
 * KMS cannot rotate asymmetric keys, so rotation is "add a key, publish it, switch, retire the old one"
 * (docs/DEPLOY.md). Every named key is published; only the active one may be used to sign (`grantSign`).
 *
 * The JWKS is produced by a custom resource (CDK Provider framework) that calls GetPublicKey for each key and
 * returns the public JWKS as the attribute `Jwks`. Verifiers receive it as JWKS_JSON, so they never call KMS
 * or fetch keys over HTTP, neither per request nor at cold start. The publisher is the only principal with
 * kms:GetPublicKey.
 */
import { CustomResource, Duration, Lazy, RemovalPolicy, Stack, Validations } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Provider } from 'aws-cdk-lib/custom-resources';
import { Construct } from 'constructs';
import { TokengateFunction } from './tokengate-function.js';

export interface SigningKeysProps {
  /** Logical key names, in publication order (each becomes a KMS key with a stable construct id). */
  readonly keyNames: readonly string[];
  /** The key that signs; must be one of `keyNames`. Published first. */
  readonly activeKeyName: string;
  /** @default `alias/tokengate/<stack name>` */
  readonly aliasPrefix?: string;
  /** @default RetentionDays.ONE_MONTH */
  readonly logRetention?: logs.RetentionDays;
  /** @default false */
  readonly tracing?: boolean;
}

export class SigningKeys extends Construct {
  /** Every key by logical name. */
  readonly keys: ReadonlyMap<string, kms.Key>;
  readonly activeKey: kms.Key;
  readonly activeKeyName: string;
  /** JSON `{"keys":[…]}` of the public keys, active first: a deploy-time token, resolved by CloudFormation. */
  readonly jwksJson: string;
  readonly publisher: TokengateFunction;
  readonly provider: Provider;

  constructor(scope: Construct, id: string, props: SigningKeysProps) {
    super(scope, id);
    if (!props.keyNames.includes(props.activeKeyName)) {
      throw new Error(`active signing key "${props.activeKeyName}" is not one of ${props.keyNames.join(', ')}`);
    }
    const aliasPrefix = props.aliasPrefix ?? `alias/tokengate/${Stack.of(this).stackName}`;

    const keys = new Map<string, kms.Key>();
    for (const name of props.keyNames) {
      keys.set(
        name,
        new kms.Key(this, `Key-${name}`, {
          description: `tokengate access-token signing key "${name}" (ES256)`,
          keySpec: kms.KeySpec.ECC_NIST_P256,
          keyUsage: kms.KeyUsage.SIGN_VERIFY,
          alias: `${aliasPrefix}/${name}`,
          // A deleted key makes every token it signed unverifiable, and cannot be undone after the waiting
          // period: keys leave the account only by hand (docs/DEPLOY.md, key rotation).
          removalPolicy: RemovalPolicy.RETAIN,
        }),
      );
    }
    this.keys = keys;
    this.activeKeyName = props.activeKeyName;
    this.activeKey = keys.get(props.activeKeyName) as kms.Key;
    const ordered = [this.activeKey, ...props.keyNames.filter((n) => n !== props.activeKeyName).map((n) => keys.get(n) as kms.Key)];

    this.publisher = new TokengateFunction(this, 'Publisher', {
      handlerDir: 'jwks-publisher',
      description: 'tokengate: publishes the signing keys as a JWKS at deploy time (custom resource)',
      timeout: Duration.seconds(30),
      ...(props.logRetention !== undefined ? { logRetention: props.logRetention } : {}),
      tracing: props.tracing ?? false,
    });
    for (const key of ordered) key.grant(this.publisher.role, 'kms:GetPublicKey');

    // The framework function (it relays CloudFormation's request to the publisher and reports back) gets a
    // role that may write to its own log group only, instead of the AWSLambdaBasicExecutionRole managed policy.
    const frameworkLogs = new logs.LogGroup(this, 'ProviderLogs', {
      retention: props.logRetention ?? logs.RetentionDays.ONE_MONTH,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    const frameworkRole = new iam.Role(this, 'ProviderRole', {
      assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
      description: 'tokengate JWKS custom resource provider framework',
    });
    frameworkLogs.grantWrite(frameworkRole);
    this.provider = new Provider(this, 'Provider', {
      onEventHandler: this.publisher.fn,
      logGroup: frameworkLogs,
      frameworkOnEventRole: frameworkRole,
    });
    // The framework code is plain JavaScript: run it on Graviton like everything else.
    for (const child of this.provider.node.findAll()) {
      if (child instanceof lambda.CfnFunction) child.architectures = [lambda.Architecture.ARM_64.name];
    }
    Validations.of(frameworkRole).acknowledge({
      id: `AwsSolutions-IAM5[Resource::<${Stack.of(this).getLogicalId(this.publisher.fn.node.defaultChild as lambda.CfnFunction)}.Arn>:*]`,
      reason: 'The provider framework invokes the publisher function by ARN with any version/alias qualifier (`<arn>:*`); it is scoped to that one function.',
    });

    const jwks = new CustomResource(this, 'Jwks', {
      serviceToken: this.provider.serviceToken,
      resourceType: 'Custom::TokengateJwks',
      // Any change of the list (a key added, removed or made active) is an Update that recomputes the set.
      properties: { KeyIds: ordered.map((k) => k.keyArn) },
      serviceTimeout: Duration.minutes(5),
    });
    this.jwksJson = jwks.getAttString('Jwks');
  }

  private readonly signers: iam.IRole[] = [];

  /**
   * `kms:Sign` on the active key for `role`. Each key's own policy also denies kms:Sign to every other
   * principal (account administrators included), and denies it to everyone on keys that are not active: an
   * identity policy elsewhere in the account with `kms:*` cannot mint tokens.
   */
  grantSign(role: iam.IRole): void {
    this.activeKey.grant(role, 'kms:Sign');
    if (this.signers.length === 0) this.denySigningToOthers();
    this.signers.push(role);
  }

  private denySigningToOthers(): void {
    for (const [name, key] of this.keys) {
      const active = name === this.activeKeyName;
      key.addToResourcePolicy(
        new iam.PolicyStatement({
          sid: active ? 'OnlyTokengateSignersMaySign' : 'NotActiveNobodySigns',
          effect: iam.Effect.DENY,
          principals: [new iam.AnyPrincipal()],
          actions: ['kms:Sign'],
          resources: ['*'],
          ...(active
            ? { conditions: { ArnNotEquals: { 'aws:PrincipalArn': Lazy.list({ produce: () => this.signers.map((r) => r.roleArn) }) } } }
            : {}),
        }),
      );
    }
  }
}
