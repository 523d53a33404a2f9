/**
 * The deployable tokengate stack: table, signing keys (+ deploy-time JWKS), one function per handler plus the
 * token authorizer, and the REST API built from the route table. Grants are listed here, side by side, so the
 * least-privilege story can be read in one screen.
 */
import { CfnOutput, Duration, RemovalPolicy, Stack, Validations, type StackProps } from 'aws-cdk-lib';
import type { Construct, IConstruct } from 'constructs';
import { ENV, FUNCTION_ENV, CORS_AWARE, pickEnv, type ApiFunctionName, type EnvName } from './constructs/function-env.js';
import { PARTITION_KEY, SessionTable, SORT_KEY } from './constructs/session-table.js';
import { resolveSettings, type TokengateSettings, type TokengateSettingsInput } from './constructs/settings.js';
import { SigningKeys } from './constructs/signing-keys.js';
import { TokengateApi } from './constructs/tokengate-api.js';
import { TokengateFunction, type TableAction, type TableGrantOptions } from './constructs/tokengate-function.js';
import { routes as routeTable, type FunctionName, type Route } from './routes.js';
import { ORDERS_PREFIX, REFRESH_PREFIX, SESSION_PREFIX, THROTTLE_PREFIX, USER_PREFIX } from '../lambdas/adapters/dynamo/keys.js';

export interface TokengateStackProps extends StackProps {
  /**
   * Settings that win over the `tokengate:*` context values (cdk.json / `-c`).
   * @default everything from context, then the documented defaults
   */
  readonly settings?: TokengateSettingsInput;
  /** @default the route table of lib/routes.ts */
  readonly routes?: readonly Route[];
  /**
   * Set API Gateway's account-level CloudWatch Logs role (needed for access logs; one per account and region,
   * retained on destroy). Turn off if your organisation manages it.
   * @default true
   */
  readonly manageAccountCloudWatchRole?: boolean;
}

interface TableGrant extends TableGrantOptions {
  readonly actions: readonly TableAction[];
}

interface FunctionSpec {
  readonly description: string;
  readonly memorySize: number;
  readonly timeout: Duration;
  readonly table: readonly TableGrant[];
  /** kms:Sign on the active key. */
  readonly sign?: boolean;
}

/** Every item whose partition key starts with one of these prefixes (lambdas/adapters/dynamo/keys.ts). */
const items = (...prefixes: string[]): string[] => prefixes.map((p) => `${p}*`);

/** UpdateItem on user items that may change `attributes` and nothing else (the key is named, not changed). */
const userUpdate = (...attributes: string[]): TableGrant => ({
  actions: ['UpdateItem'],
  leadingKeys: items(USER_PREFIX),
  attributes: [PARTITION_KEY, SORT_KEY, ...attributes],
});

/**
 * Sizing and grants per function.
 * - Memory buys CPU on Lambda (1769 MB = one full vCPU). Login hashes passwords with scrypt N=2^17, r=8:
 *   128 MiB of memory-hard, single-threaded work that runs about proportionally faster with more CPU up to
 *   one vCPU, so login gets 1769 MB (more would add a second vCPU it cannot use); at the same GB-seconds it
 *   answers in roughly half the time it would at 1024 MB. The authorizer sits in front of every protected
 *   call: 512 MB keeps its ES256 verification and cold start fast.
 * - Table access: exactly the item operations each handler performs (lambdas/adapters/dynamo), each limited to
 *   the key prefixes it touches; nothing may Scan. Writes to user items name the attributes they may change:
 *   login rehashes `passwordHash` (when the stored hash has weaker parameters), logout with `all` moves
 *   `sessionsValidAfter`; nothing else of a user (permissions, status) can be changed by a function.
 *   test/infra/table-access.test.ts runs every flow and checks each call against these grants, both ways.
 */
const FUNCTIONS: Readonly<Record<ApiFunctionName, FunctionSpec>> = {
  authorizer: {
    description: 'tokengate: API Gateway TOKEN authorizer (ES256 verify + revocation check)',
    memorySize: 512,
    timeout: Duration.seconds(3),
    // One BatchGetItem of the session and its user (adapters/dynamo/session-status.ts).
    table: [{ actions: ['BatchGetItem'], leadingKeys: items(SESSION_PREFIX, USER_PREFIX) }],
  },
  login: {
    description: 'tokengate: POST /auth/login (scrypt verify, session create, KMS sign)',
    memorySize: 1769,
    timeout: Duration.seconds(10),
    table: [
      { actions: ['GetItem'], leadingKeys: items(USER_PREFIX) },
      // Failed-login windows: read, reserve a slot (conditional update), give it back on success.
      { actions: ['GetItem', 'UpdateItem'], leadingKeys: items(THROTTLE_PREFIX) },
      // A new session and its first refresh token.
      { actions: ['PutItem'], leadingKeys: items(SESSION_PREFIX, REFRESH_PREFIX) },
      userUpdate('passwordHash'),
    ],
    sign: true,
  },
  refresh: {
    description: 'tokengate: POST /auth/refresh (rotating refresh tokens, KMS sign)',
    memorySize: 512,
    timeout: Duration.seconds(5),
    table: [
      { actions: ['GetItem'], leadingKeys: items(REFRESH_PREFIX, SESSION_PREFIX, USER_PREFIX) },
      // The rotated token's record.
      { actions: ['PutItem'], leadingKeys: items(REFRESH_PREFIX) },
      // Claim the presented token; rotate or revoke the session.
      { actions: ['UpdateItem'], leadingKeys: items(REFRESH_PREFIX, SESSION_PREFIX) },
    ],
    sign: true,
  },
  logout: {
    description: 'tokengate: POST /auth/logout (revokes the session or all sessions)',
    memorySize: 256,
    timeout: Duration.seconds(5),
    table: [
      // The presented credential's session, and its user (a session before the user's cut-off is not live).
      { actions: ['GetItem'], leadingKeys: items(REFRESH_PREFIX, SESSION_PREFIX, USER_PREFIX) },
      { actions: ['UpdateItem'], leadingKeys: items(SESSION_PREFIX) },
      userUpdate('sessionsValidAfter'),
    ],
  },
  jwks: {
    description: 'tokengate: GET /.well-known/jwks.json (serves JWKS_JSON)',
    memorySize: 256,
    timeout: Duration.seconds(3),
    table: [],
  },
  orders: {
    description: 'tokengate: demo orders service behind the authorizer',
    memorySize: 256,
    timeout: Duration.seconds(5),
    table: [{ actions: ['GetItem', 'PutItem', 'DeleteItem', 'Query'], leadingKeys: items(ORDERS_PREFIX) }],
  },
};

export class TokengateStack extends Stack {
  readonly settings: TokengateSettings;
  readonly table: SessionTable;
  readonly signingKeys: SigningKeys;
  readonly functions: Readonly<Record<ApiFunctionName, TokengateFunction>>;
  readonly api: TokengateApi;

  constructor(scope: Construct, id: string, props: TokengateStackProps = {}) {
    super(scope, id, props);
    const s = (this.settings = resolveSettings(this, props.settings));
    const routes = props.routes ?? routeTable;

    this.table = new SessionTable(this, 'Sessions', {
      removalPolicy: s.tableRemovalPolicy === 'retain' ? RemovalPolicy.RETAIN : RemovalPolicy.DESTROY,
    });

    this.signingKeys = new SigningKeys(this, 'Signing', {
      keyNames: s.signingKeys,
      activeKeyName: s.activeSigningKey,
      logRetention: s.logRetentionDays,
      tracing: s.tracing,
    });

    const envValues: Partial<Record<EnvName, string>> = {
      [ENV.TABLE_NAME]: this.table.table.tableName,
      [ENV.TOKEN_ISSUER]: s.issuer,
      [ENV.TOKEN_AUDIENCE]: s.audience,
      [ENV.JWKS_JSON]: this.signingKeys.jwksJson,
      [ENV.SIGNER]: 'kms',
      [ENV.KMS_KEY_ID]: this.signingKeys.activeKey.keyArn,
      [ENV.ACCESS_TOKEN_TTL_SECONDS]: String(s.accessTokenTtlSeconds),
      [ENV.REFRESH_TOKEN_TTL_SECONDS]: String(s.refreshTokenTtlSeconds),
      [ENV.REFRESH_REUSE_GRACE_SECONDS]: String(s.refreshReuseGraceSeconds),
      [ENV.REVOCATION_CACHE_TTL_SECONDS]: String(s.revocationCacheTtlSeconds),
      [ENV.CLOCK_LEEWAY_SECONDS]: String(s.clockLeewaySeconds),
      // `/` gives the `__Host-` cookie (no Domain, Path=/): the strongest against planted cookies (README, cookie mode).
      [ENV.REFRESH_COOKIE_PATH]: s.refreshCookiePath ?? '/',
    };

    const functions = {} as Record<ApiFunctionName, TokengateFunction>;
    for (const [name, spec] of Object.entries(FUNCTIONS) as [ApiFunctionName, FunctionSpec][]) {
      const environment = pickEnv(FUNCTION_ENV[name], envValues);
      if (s.corsAllowOrigins.length > 0 && CORS_AWARE.includes(name)) {
        environment[ENV.CORS_ALLOW_ORIGINS] = s.corsAllowOrigins.join(',');
      }
      const fn = new TokengateFunction(this, `${name[0]?.toUpperCase()}${name.slice(1)}`, {
        handlerDir: name,
        description: spec.description,
        memorySize: spec.memorySize,
        timeout: spec.timeout,
        environment,
        logRetention: s.logRetentionDays,
        tracing: s.tracing,
      });
      for (const grant of spec.table) fn.grantTable(this.table.table, grant.actions, grant);
      if (spec.sign) this.signingKeys.grantSign(fn.role);
      functions[name] = fn;
    }
    this.functions = functions;

    const handlers = Object.fromEntries(
      (Object.keys(functions) as ApiFunctionName[])
        .filter((n): n is FunctionName => n !== 'authorizer')
        .map((n) => [n, functions[n].fn]),
    ) as Record<FunctionName, TokengateFunction['fn']>;

    this.api = new TokengateApi(this, 'Http', {
      routes,
      handlers,
      authorizerFunction: functions.authorizer.fn,
      authorizerCacheTtl: Duration.seconds(s.authorizerCacheTtlSeconds),
      corsAllowOrigins: s.corsAllowOrigins,
      throttling: { rateLimit: s.throttlingRateLimit, burstLimit: s.throttlingBurstLimit },
      loginThrottling: { rateLimit: s.loginThrottlingRateLimit, burstLimit: s.loginThrottlingBurstLimit },
      stageName: s.stageName,
      tracing: s.tracing,
      logRetention: s.logRetentionDays,
      manageAccountCloudWatchRole: props.manageAccountCloudWatchRole ?? s.manageAccountCloudWatchRole,
      ...(s.webAclArn ? { webAclArn: s.webAclArn } : {}),
      ...(s.wafRateLimitPerIp !== undefined ? { wafRateLimitPerIp: s.wafRateLimitPerIp } : {}),
    });

    new CfnOutput(this, 'ApiUrl', { value: this.api.api.url, description: 'Base URL of the API stage' });
    new CfnOutput(this, 'JwksUrl', { value: this.api.jwksUrl, description: 'Public signing keys (JWKS)' });
    new CfnOutput(this, 'TableName', { value: this.table.table.tableName, description: 'DynamoDB table (for npm run users)' });
    new CfnOutput(this, 'SigningKeyArn', { value: this.signingKeys.activeKey.keyArn, description: `Active signing key "${s.activeSigningKey}"` });
    new CfnOutput(this, 'AuthorizerFunctionName', { value: functions.authorizer.fn.functionName, description: 'TOKEN authorizer function' });

    this.addNagSuppressions(s, routes);
  }

  /**
   * cdk-nag (v3: CDK policy-validation plugin) acknowledgements. Each names the rule, the resource and why the
   * finding does not apply; an acknowledgement covers the construct and its children only.
   */
  private addNagSuppressions(s: TokengateSettings, routes: readonly Route[]): void {
    const api = this.api;
    for (const route of routes) {
      const key = `${route.method} ${route.path}`;
      const method = api.methods.get(key);
      if (!method) continue;
      if (route.permission !== null) {
        acknowledge(method, [
          { id: 'AwsSolutions-COG4', reason: `${key} is protected by the tokengate TOKEN authorizer (ES256 access tokens signed in KMS, revocation-checked); the design deliberately uses its own tokens, not a Cognito user pool.` },
        ]);
      } else {
        acknowledge(method, [
          { id: 'AwsSolutions-APIG4', reason: `${key} is public by design: it is how a client obtains or renews a token, ends its session (the function verifies the token itself) or fetches the public keys.` },
          { id: 'AwsSolutions-COG4', reason: `${key} is public by design (login, refresh, logout or public keys); no user pool is involved.` },
        ]);
      }
    }
    for (const [path, preflight] of api.preflights) {
      acknowledge(preflight, [
        { id: 'AwsSolutions-APIG4', reason: `CORS preflight for ${path}: browsers send OPTIONS without credentials, so it cannot be authorized; a mock integration that only returns CORS headers.` },
        { id: 'AwsSolutions-COG4', reason: `CORS preflight for ${path}: browsers send OPTIONS without credentials; mock integration, no backend.` },
      ]);
    }
    if (!s.webAclArn && s.wafRateLimitPerIp === undefined) {
      acknowledge(api.api.deploymentStage, [
        { id: 'AwsSolutions-APIG3', reason: 'A web ACL is account- and traffic-specific and costs money; set tokengate:wafRateLimitPerIp for a per-IP rate rule on /auth/*, or tokengate:webAclArn to associate your own (docs/DEPLOY.md). Stage throttling, stricter login throttling and per-user login lockout are always on.' },
      ]);
    }
  }
}

/** Acknowledges cdk-nag findings on `scope` (cdk-nag v3 reads CDK's acknowledged-rules metadata). */
export function acknowledge(scope: IConstruct, entries: readonly { id: string; reason: string }[]): void {
  for (const entry of entries) Validations.of(scope).acknowledge(entry);
}
