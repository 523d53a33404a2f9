/**
 * The construct a team adds to its own CDK app: tokengate's table, signing keys (+ deploy-time JWKS), its own
 * functions (login, refresh, logout, JWKS) and the TOKEN authorizer, and the REST API serving tokengate's routes
 * and the team's, each team route on the team's own function (or any API Gateway integration).
 *
 * Grants are listed here, side by side, so the least-privilege story can be read in one screen. The team's
 * functions get nothing from tokengate but an invocation permission for the API's stage: what they may do with
 * their own resources is the team's to grant.
 */
import { Duration, RemovalPolicy, Validations } from 'aws-cdk-lib';
import type * as apigw from 'aws-cdk-lib/aws-apigateway';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import { Construct, type IConstruct } from 'constructs';
import { authorizerRoutes, authorizerRoutesDefine, openApiDefine, type AuthorizerRoute } from './bundling.js';
import { buildOpenApi } from './openapi.js';
import { ENV, FUNCTION_ENV, CORS_AWARE, pickEnv, type ApiFunctionName, type EnvName } from './constructs/function-env.js';
import { PARTITION_KEY, SessionTable, SORT_KEY } from './constructs/session-table.js';
import { resolveSettings, type TokengateSettings, type TokengateSettingsInput } from './constructs/settings.js';
import { SigningKeys } from './constructs/signing-keys.js';
import { TokengateApi } from './constructs/tokengate-api.js';
import { TokengateFunction, type TableAction, type TableGrantOptions } from './constructs/tokengate-function.js';
import { AUTH_ROUTES, defineApp, OPENAPI_ROUTE, type Route, type TokengateFunctionName } from './routes.js';
import { wildcardMatch } from './local/wildcard.js';
import { REFRESH_PREFIX, SESSION_PREFIX, THROTTLE_PREFIX, USER_PREFIX } from '../lambdas/adapters/dynamo/keys.js';
import { grants } from '../lambdas/core/permissions.js';
import { routeResource } from '../lambdas/core/policy.js';

/** What serves a team's route: its own function (a Lambda proxy integration is built) or any integration. */
export type TokengateIntegration = lambda.IFunction | apigw.Integration;

/** A method the team adds to the API itself and guards with `tokengate.authorizer`. */
export interface ProtectedMethod {
  readonly method: Route['method'];
  /** The resource path, `{name}` for a path parameter. */
  readonly path: string;
  /** The permission (`resource:action`) a caller needs. */
  readonly permission: string;
}

export interface TokengateProps<H extends string = string> {
  /**
   * The team's routes: the `routes` of its `defineApp` declaration. tokengate's own routes (/auth/login,
   * /auth/refresh, /auth/logout, /.well-known/jwks.json) are added in front of them.
   */
  readonly routes: readonly Route<H>[];
  /**
   * What serves each route's `handler`: a function (tokengate builds a Lambda proxy integration and lets this
   * API's stage invoke it) or any API Gateway integration (e.g. `new apigw.HttpIntegration(url, { proxy: true })`).
   * Every handler named by a route needs one, and every entry must serve a route.
   */
  readonly integrations: Readonly<Record<H, TokengateIntegration>>;
  /**
   * Put the routes on this API instead of creating one. It must have a deployment stage. Its stage settings
   * (access logs, stage throttling, tracing, logging) stay yours; tokengate adds its methods, the authorizer,
   * the request validator and models, its JSON gateway responses (so do not define gateway responses of the same
   * types yourself), CORS preflights where the API has none, and the tighter throttle on POST /auth/login.
   * @default a new REGIONAL API with a stage (`stageName`), JSON access logs, throttling and the above
   */
  readonly api?: apigw.RestApi;
  /**
   * Settings that win over the `tokengate:*` context values (cdk.json / `-c`).
   * @default everything from context, then the documented defaults (lib/constructs/settings.ts)
   */
  readonly settings?: TokengateSettingsInput;
  /**
   * Methods you add to the API yourself and guard with `authorizer`: the authorizer's policy must cover them too
   * (it allows every route the caller may use, so that its cached answer serves them all), so their method, path
   * and permission are compiled into its route table beside `routes`.
   * @default none
   */
  readonly protectedMethods?: readonly ProtectedMethod[];
  /**
   * Set API Gateway's account-level CloudWatch Logs role (needed for access logs; one per account and region,
   * retained on destroy). Turn off if your organisation manages it. Only for an API tokengate creates.
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
};

export class Tokengate<H extends string = string> extends Construct {
  /** The resolved settings (context overlaid by `props.settings`): `issuer` and `audience` for your services. */
  readonly settings: TokengateSettings;
  /** tokengate's table (users, sessions, refresh tokens, login throttling). */
  readonly table: dynamodb.Table;
  readonly signingKeys: SigningKeys;
  /** tokengate's own functions: login, refresh, logout, jwks and the authorizer (function, role, log group). */
  readonly functions: Readonly<Record<ApiFunctionName, TokengateFunction>>;
  /** The REST API (created, or the one passed in). */
  readonly api: apigw.RestApi;
  /** The TOKEN authorizer: attach it to methods you add yourself, and list them in `protectedMethods`. */
  readonly authorizer: apigw.TokenAuthorizer;
  /** Every method tokengate added, keyed `"<METHOD> <path>"` (tokengate's routes and yours). */
  readonly methods: ReadonlyMap<string, apigw.Method>;
  /** Every route the API serves through tokengate: AUTH_ROUTES, GET /openapi.json (served by the JWKS function), then yours. */
  readonly routes: readonly Route[];
  /** The table compiled into the authorizer: method, path and permission of every protected route. */
  readonly authorizerRoutes: readonly AuthorizerRoute[];
  /**
   * `https://<api id>.execute-api.<region>.<suffix>/<stage>/`. Safe in your functions' environment (built from
   * the API's id, not its stage, so no dependency cycle): `fn.addEnvironment('API_URL', tokengate.apiBaseUrl)`.
   */
  readonly apiBaseUrl: string;
  /** The public keys (JWKS) URL, cycle-free like `apiBaseUrl`: for services that verify tokens themselves. */
  readonly jwksUrl: string;
  /** The stage's URL (`api.url`): for outputs. In a function's environment use `apiBaseUrl` (no cycle). */
  readonly apiUrl: string;
  /**
   * What a service behind tokengate needs to know, as environment variables (all cycle-free): `API_URL`
   * (`apiBaseUrl`, to call other services through the gateway with the caller's token), `JWKS_URL`,
   * `TOKEN_ISSUER` and `TOKEN_AUDIENCE` (to verify a token itself), and `CORS_ALLOW_ORIGINS` when origins are
   * configured (a service's own answers need the CORS headers; the gateway answers preflights).
   * `for (const [k, v] of Object.entries(tokengate.serviceEnvironment)) fn.addEnvironment(k, v)`.
   */
  readonly serviceEnvironment: Readonly<Record<string, string>>;

  private readonly http: TokengateApi;

  constructor(scope: Construct, id: string, props: TokengateProps<H>) {
    super(scope, id);
    const s = (this.settings = resolveSettings(this, props.settings));

    // The team's table checked as defineApp checks a declaration (unique METHOD path, well-formed paths and
    // permissions, nothing under tokengate's own paths, every handler served and every integration used).
    const integrations = props.integrations as Readonly<Record<string, TokengateIntegration>>;
    defineApp<string>({
      services: Object.fromEntries(Object.keys(integrations).map((name) => [name, { entry: `(integration ${name})` }])),
      routes: props.routes,
    });
    const protectedMethods = props.protectedMethods ?? [];
    defineApp({
      services: protectedMethods.length > 0 ? { own: { entry: '(your own methods)' } } : {},
      routes: protectedMethods.map((m) => ({ ...m, handler: 'own' })),
    });
    this.routes = [...AUTH_ROUTES, OPENAPI_ROUTE, ...props.routes];
    const guarded = new Set(this.routes.map((r) => `${r.method} ${r.path}`));
    for (const m of protectedMethods) {
      if (guarded.has(`${m.method} ${m.path}`)) throw new Error(`${this.node.path}: protectedMethods ${m.method} ${m.path} is also a route`);
    }
    this.authorizerRoutes = authorizerRoutes([...this.routes, ...protectedMethods]);
    assertNoPolicyOverreach(this.authorizerRoutes);

    const sessions = new SessionTable(this, 'Sessions', {
      removalPolicy: s.tableRemovalPolicy === 'retain' ? RemovalPolicy.RETAIN : RemovalPolicy.DESTROY,
    });
    this.table = sessions.table;

    this.signingKeys = new SigningKeys(this, 'Signing', {
      keyNames: s.signingKeys,
      activeKeyName: s.activeSigningKey,
      logRetention: s.logRetentionDays,
      tracing: s.tracing,
    });

    const envValues: Partial<Record<EnvName, string>> = {
      [ENV.TABLE_NAME]: this.table.tableName,
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
        // The route table is compiled into the authorizer's code, not put in its environment (4 KB in total).
        ...(name === 'authorizer' ? { define: authorizerRoutesDefine(this.authorizerRoutes) } : {}),
        // GET /openapi.json: the document of every route, compiled into the JWKS function (it serves static JSON).
        ...(name === 'jwks' ? { define: openApiDefine(buildOpenApi({ routes: props.routes }, { title: 'tokengate API' })) } : {}),
      });
      for (const grant of spec.table) fn.grantTable(this.table, grant.actions, grant);
      if (spec.sign) this.signingKeys.grantSign(fn.role);
      functions[name] = fn;
    }
    this.functions = functions;

    const handlers: Record<TokengateFunctionName, lambda.IFunction> = {
      login: functions.login.fn,
      refresh: functions.refresh.fn,
      logout: functions.logout.fn,
      jwks: functions.jwks.fn,
    };

    this.http = new TokengateApi(this, 'Http', {
      routes: this.routes,
      handlers,
      integrations,
      authorizerFunction: functions.authorizer.fn,
      ...(props.api ? { api: props.api } : {}),
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
    this.api = this.http.api;
    this.authorizer = this.http.authorizer;
    this.methods = this.http.methods;
    this.apiBaseUrl = this.http.baseUrl;
    this.jwksUrl = this.http.jwksUrl;
    this.apiUrl = this.api.url;
    this.serviceEnvironment = {
      API_URL: this.apiBaseUrl,
      JWKS_URL: this.jwksUrl,
      TOKEN_ISSUER: s.issuer,
      TOKEN_AUDIENCE: s.audience,
      ...(s.corsAllowOrigins.length > 0 ? { [ENV.CORS_ALLOW_ORIGINS]: s.corsAllowOrigins.join(',') } : {}),
    };

    this.addNagAcknowledgements(s);
  }

  /**
   * cdk-nag (v3: CDK policy-validation plugin) acknowledgements for what tokengate adds. Each names the rule, the
   * resource and why the finding does not apply; an acknowledgement covers the construct and its children only.
   */
  private addNagAcknowledgements(s: TokengateSettings): void {
    const api = this.http;
    for (const route of this.routes) {
      const key = `${route.method} ${route.path}`;
      const method = api.methods.get(key);
      if (!method) continue;
      if (route.permission !== null) {
        acknowledge(method, [
          { id: 'AwsSolutions-COG4', reason: `${key} is protected by the tokengate TOKEN authorizer (ES256 access tokens signed in KMS, revocation-checked, permission ${route.permission}); the design deliberately uses its own tokens, not a Cognito user pool.` },
        ]);
      } else {
        const why = route.handler in FUNCTIONS
          ? 'it is how a client obtains or renews a token, ends its session (the function verifies the token itself) or fetches the public keys'
          : 'the app declares it with permission null (a public route)';
        acknowledge(method, [
          { id: 'AwsSolutions-APIG4', reason: `${key} is public by design: ${why}.` },
          { id: 'AwsSolutions-COG4', reason: `${key} is public by design (${why}); no user pool is involved.` },
        ]);
      }
    }
    for (const [path, preflight] of api.preflights) {
      acknowledge(preflight, [
        { id: 'AwsSolutions-APIG4', reason: `CORS preflight for ${path}: browsers send OPTIONS without credentials, so it cannot be authorized; a mock integration that only returns CORS headers.` },
        { id: 'AwsSolutions-COG4', reason: `CORS preflight for ${path}: browsers send OPTIONS without credentials; mock integration, no backend.` },
      ]);
    }
    // Only on a stage tokengate created: a team's own stage is the team's to secure or acknowledge.
    if (api.created && !s.webAclArn && s.wafRateLimitPerIp === undefined) {
      acknowledge(api.api.deploymentStage, [
        { id: 'AwsSolutions-APIG3', reason: 'A web ACL is account- and traffic-specific and costs money; set tokengate:wafRateLimitPerIp for a per-IP rate rule on /auth/*, or tokengate:webAclArn to associate your own (docs/DEPLOY.md). Stage throttling, stricter login throttling and per-user login lockout are always on.' },
      ]);
    }
  }
}

/**
 * The authorizer's policy names a route by its method ARN with `*` for each path parameter (lambdas/core/policy.ts),
 * and IAM's `*` also matches `/`: the pattern of `GET /orders/{id}` covers `GET /orders/1/secret` too. If that
 * deeper route needs a permission the first one's does not imply, a caller allowed the first would be let through
 * to the second. Such a table is refused at synth rather than deployed with a hole in it.
 */
export function assertNoPolicyOverreach(routes: readonly AuthorizerRoute[]): void {
  for (const a of routes) {
    const pattern = routeResource(a.method, a.path);
    for (const b of routes) {
      if (a === b) continue;
      const sample = `${b.method}/${b.path.replace(/^\//, '').replace(/\{[^}/]+\}/g, 'x')}`;
      if (wildcardMatch(pattern, sample) && !grants([a.permission], b.permission)) {
        throw new Error(
          `${a.method} ${a.path} (${a.permission}) would also let its callers through to ${b.method} ${b.path} (${b.permission}): ` +
            `the authorizer's policy allows "${pattern}", and IAM's * spans "/". Require a permission for ${b.method} ${b.path} ` +
            `that ${a.permission} implies (e.g. the same one), or move one of the routes.`,
        );
      }
    }
  }
}

/** Acknowledges cdk-nag findings on `scope` (cdk-nag v3 reads CDK's acknowledged-rules metadata). */
export function acknowledge(scope: IConstruct, entries: readonly { id: string; reason: string }[]): void {
  for (const entry of entries) Validations.of(scope).acknowledge(entry);
}
