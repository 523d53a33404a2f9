/**
 * The token signing keys (KMS, ECC_NIST_P256, SIGN_VERIFY) and their public JWKS, computed at deploy time.
 *
 * KMS cannot rotate asymmetric keys, so rotation is "add a key, publish it, switch, retire the old one"
 * (docs/DEPLOY.md). Every named key is published, and the signer roles may sign with every named key
 * (`grantSign`): which key signs is chosen by the functions' KMS_KEY_ID alone. So the deploy that makes a key
 * active changes nothing but KMS_KEY_ID and the JWKS order — no grant is taken away from the key the running
 * functions still use, in whatever order CloudFormation updates the resources — and the new key was signable
 * and published one deploy earlier (test/infra/rotation.test.ts walks all three deploys in every order).
 * A key stops being signable when it leaves `keyNames` (step "retire"), after it stopped being active.
 *
 * The JWKS is produced by a custom resource (CDK Provider framework) that calls GetPublicKey for each key and
 * returns the public JWKS as the attribute `Jwks`. Verifiers receive it as JWKS_JSON, so they never call KMS
 * or fetch keys over HTTP, neither per request nor at cold start. The publisher is the only principal with
 * kms:GetPublicKey.
 */
import { createHash } from 'node:crypto';
import { CustomResource, Duration, Lazy, RemovalPolicy, Stack, Token, Validations } from 'aws-cdk-lib';
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
  /** The custom resource whose `Jwks` attribute is `jwksJson`. */
  readonly jwks: CustomResource;

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
          // period: keys leave the account only by hand (docs/DEPLOY.md, key rotation). Except when the stack's
          // first create fails: nothing was ever signed with it, so the rollback deletes it (KMS schedules the
          // deletion with its 30-day window) instead of leaving a billed key behind for every retry.
          removalPolicy: RemovalPolicy.RETAIN_ON_UPDATE_OR_DELETE,
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
      // It retries GetPublicKey for up to 90 s right after CreateKey (lambdas/jwks-publisher/handler.ts).
      timeout: Duration.minutes(2),
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
      properties: {
        // Any change of the list (a key added, removed or made active) is an Update that recomputes the set.
        KeyIds: ordered.map((k) => k.keyArn),
        // So is a change of the publisher's code (its asset hash): a fix reaches the JWKS in the deploy that ships it.
        PublisherCode: codeFingerprint(this.publisher.fn),
      },
      serviceTimeout: Duration.minutes(5),
    });
    // Not before the publisher's role may read every key (its policy) and the publisher runs its current code.
    jwks.node.addDependency(this.publisher);
    this.jwks = jwks;
    this.jwksJson = jwks.getAttString('Jwks');
  }

  private readonly signers: iam.IRole[] = [];

  /**
   * `kms:Sign` for `role` on every named key; the function picks one with KMS_KEY_ID. Each key's own policy
   * also denies kms:Sign to every other principal (account administrators included): an identity policy
   * elsewhere in the account with `kms:*` cannot mint tokens.
   */
  grantSign(role: iam.IRole): void {
    role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        actions: ['kms:Sign'],
        resources: [...this.keys.values()].map((k) => k.keyArn),
      }),
    );
    if (this.signers.length === 0) this.denySigningToOthers();
    this.signers.push(role);
  }

  private denySigningToOthers(): void {
    for (const key of this.keys.values()) {
      key.addToResourcePolicy(
        new iam.PolicyStatement({
          sid: 'OnlyTokengateSignersMaySign',
          effect: iam.Effect.DENY,
          principals: [new iam.AnyPrincipal()],
          actions: ['kms:Sign'],
          resources: ['*'],
          conditions: { ArnNotEquals: { 'aws:PrincipalArn': Lazy.list({ produce: () => this.signers.map((r) => r.roleArn) }) } },
        }),
      );
    }
  }
}

/**
 * What identifies a function's code in the template: the asset's object key (its content hash) or, for inline
 * code, a hash of the source.
 */
function codeFingerprint(fn: lambda.IFunction): string {
  const cfn = fn.node.defaultChild as lambda.CfnFunction;
  const code = cfn.code as lambda.CfnFunction.CodeProperty;
  if (code.s3Key && !Token.isUnresolved(code.s3Key)) return code.s3Key;
  if (code.zipFile) return createHash('sha256').update(code.zipFile).digest('hex');
  if (code.imageUri && !Token.isUnresolved(code.imageUri)) return code.imageUri;
  throw new Error(`${fn.node.path}: cannot tell the publisher's code version from the template`);
}
