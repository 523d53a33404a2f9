/**
 * The REST API: one resource/method per route of the route table, Lambda proxy integrations, the TOKEN
 * authorizer on exactly the protected routes, a stage with JSON access logs and throttling, request
 * validation for the auth bodies and path parameters, JSON gateway responses, and CORS when origins are
 * configured. The API is created here, or a team's own RestApi is passed in and these are added to it.
 */
import { Aws, Duration, RemovalPolicy, Token, Validations } from 'aws-cdk-lib';
import * as apigw from 'aws-cdk-lib/aws-apigateway';
import * as iam from 'aws-cdk-lib/aws-iam';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as wafv2 from 'aws-cdk-lib/aws-wafv2';
import { Construct } from 'constructs';
import type { Route } from '../routes.js';
import { BEARER_VALIDATION_PATTERN } from '../bearer-format.js';

/** What the authorizer is asked to look at: a bearer JWS, checked for shape before the Lambda is invoked. */
export const AUTHORIZER_IDENTITY_SOURCE = 'method.request.header.Authorization';
export const AUTHORIZER_VALIDATION_REGEX = BEARER_VALIDATION_PATTERN;
const LOGIN_PATH = '/auth/login';
export const CORS_ALLOW_HEADERS = ['Authorization', 'Content-Type', 'X-Token-Delivery'] as const;

/**
 * JSON schemas (draft-04, what API Gateway speaks) for bodies worth rejecting at the gateway. They reject only
 * what the handler rejects with the same 400 `invalid_request` (lambdas/core: username 1-256 characters,
 * password 1-1024 bytes, a JSON object), so the deployed API and `npm start` answer alike; they spare a Lambda
 * invocation — for login an scrypt hash. Unknown members are allowed so clients may evolve. Only
 * `application/json` bodies are validated; the handlers also take form encoding and check it themselves.
 *
 * The refresh body is optional (cookie mode sends none); API Gateway validates an empty body as `{}`, which
 * this schema accepts. A malformed refresh token is the handler's 401 `invalid_grant`, so no length limits
 * here. Logout is not validated at the gateway: its body is optional and its meaning is the handler's.
 */
export const REQUEST_BODY_SCHEMAS: Readonly<Record<string, apigw.JsonSchema>> = {
  'POST /auth/login': {
    schema: apigw.JsonSchemaVersion.DRAFT4,
    title: 'LoginRequest',
    type: apigw.JsonSchemaType.OBJECT,
    required: ['username', 'password'],
    properties: {
      username: { type: apigw.JsonSchemaType.STRING, minLength: 1, maxLength: 256 },
      password: { type: apigw.JsonSchemaType.STRING, minLength: 1, maxLength: 1024 },
    },
  },
  'POST /auth/refresh': {
    schema: apigw.JsonSchemaVersion.DRAFT4,
    title: 'RefreshRequest',
    type: apigw.JsonSchemaType.OBJECT,
    properties: {
      refresh_token: { type: [apigw.JsonSchemaType.STRING, apigw.JsonSchemaType.NULL] },
    },
  },
};

export interface ThrottleSettings {
  readonly rateLimit: number;
  readonly burstLimit: number;
}

export interface TokengateApiProps {
  /** The route table (tokengate's routes and the team's, lib/routes.ts). */
  readonly routes: readonly Route[];
  /**
   * tokengate's own functions by `route.handler`. Each gets one invocation permission per method it serves
   * (a handful of fixed routes).
   */
  readonly handlers: Readonly<Record<string, IFunction>>;
  /**
   * The team's backends by `route.handler`: a function (Lambda proxy integration, invocable by this API's stage
   * only: one permission per function, whatever the number of its routes) or any API Gateway integration.
   * @default {}
   */
  readonly integrations?: Readonly<Record<string, IFunction | apigw.Integration>>;
  /** The TOKEN authorizer function. */
  readonly authorizerFunction: IFunction;
  /**
   * The API to add the routes to. It must have a deployment stage (`deploy` not false); its stage settings
   * (access logs, stage throttling, tracing) stay the team's. @default a new API with tokengate's settings
   */
  readonly api?: apigw.RestApi;
  /** @default Duration.seconds(300); Duration.seconds(0) disables the cache */
  readonly authorizerCacheTtl?: Duration;
  /** @default [] (no CORS) */
  readonly corsAllowOrigins?: readonly string[];
  /** Stage-wide throttling (a created API only). @default { rateLimit: 100, burstLimit: 200 } */
  readonly throttling?: ThrottleSettings;
  /** Tighter throttling for POST /auth/login. @default { rateLimit: 10, burstLimit: 20 } */
  readonly loginThrottling?: ThrottleSettings;
  /** A created API's stage. @default 'prod' */
  readonly stageName?: string;
  /** @default false */
  readonly tracing?: boolean;
  /** @default RetentionDays.ONE_MONTH */
  readonly logRetention?: logs.RetentionDays;
  /**
   * Create the account-level role API Gateway needs to write logs (one per account and region; creating it
   * again is harmless, it is retained on destroy). Set false if your organisation manages it. A created API only.
   * @default true
   */
  readonly manageAccountCloudWatchRole?: boolean;
  /** REGIONAL WAFv2 web ACL to associate with the stage. @default none */
  readonly webAclArn?: string;
  /**
   * Create a REGIONAL web ACL for the stage whose one rule answers 429 to an IP address that sent more than
   * this many requests to `/auth/*` within 5 minutes. Not together with `webAclArn`. @default none
   */
  readonly wafRateLimitPerIp?: number;
}

export class TokengateApi extends Construct {
  readonly api: apigw.RestApi;
  /** Whether the API was created here (false: the team passed its own). */
  readonly created: boolean;
  readonly stageName: string;
  readonly authorizer: apigw.TokenAuthorizer;
  /** The stage's access logs (a created API only). */
  readonly accessLogs?: logs.LogGroup;
  /** Every route's method, keyed `"<METHOD> <path>"`. */
  readonly methods: ReadonlyMap<string, apigw.Method>;
  /** OPTIONS methods added for CORS, keyed by path. */
  readonly preflights: ReadonlyMap<string, apigw.Method>;
  readonly validator: apigw.RequestValidator;
  /** The web ACL created for `wafRateLimitPerIp`. */
  readonly webAcl?: wafv2.CfnWebACL;

  constructor(scope: Construct, id: string, props: TokengateApiProps) {
    super(scope, id);
    const origins = [...(props.corsAllowOrigins ?? [])];
    const throttling = props.throttling ?? { rateLimit: 100, burstLimit: 200 };
    const loginThrottling = props.loginThrottling ?? { rateLimit: 10, burstLimit: 20 };
    const hasLogin = props.routes.some((r) => r.method === 'POST' && r.path === LOGIN_PATH);

    const methodDefaults = {
      // ERROR only: INFO would log authorizer context. Data tracing stays off: it would log request bodies
      // (passwords, refresh tokens) and headers (bearer tokens).
      loggingLevel: apigw.MethodLoggingLevel.ERROR,
      dataTraceEnabled: false,
      metricsEnabled: true,
    };
    const loginMethodOptions = {
      ...methodDefaults,
      throttlingRateLimit: loginThrottling.rateLimit,
      throttlingBurstLimit: loginThrottling.burstLimit,
    };

    if (props.api) {
      this.api = props.api;
      this.created = false;
      const stage = props.api.deploymentStage as apigw.Stage | undefined;
      if (!stage) throw new Error(`${this.node.path}: the RestApi passed in has no deployment stage (deploy: false); tokengate needs one`);
      // The literal name (Stage.stageName is a reference to the stage, which would put the stage, and so every
      // method and function behind it, under anything that names it: a function's own URL would be a cycle).
      const stageName = (stage.node.defaultChild as apigw.CfnStage).stageName;
      if (stageName === undefined || Token.isUnresolved(stageName)) throw new Error(`${this.node.path}: the stage name of the RestApi passed in must be a literal`);
      this.stageName = stageName;
      // A method setting for a method that does not exist fails the deployment: only if the route does.
      if (hasLogin) addMethodSetting(stage, LOGIN_PATH, 'POST', loginMethodOptions);
    } else {
      this.created = true;
      this.stageName = props.stageName ?? 'prod';
      this.accessLogs = new logs.LogGroup(this, 'AccessLogs', {
        retention: props.logRetention ?? logs.RetentionDays.ONE_MONTH,
        removalPolicy: RemovalPolicy.DESTROY,
      });
      this.api = new apigw.RestApi(this, 'Api', {
        restApiName: 'tokengate',
        description: 'tokengate: login, refresh, logout, JWKS and the routes of the app behind it',
        endpointTypes: [apigw.EndpointType.REGIONAL],
        ...((props.manageAccountCloudWatchRole ?? true)
          ? { cloudWatchRole: true, cloudWatchRoleRemovalPolicy: RemovalPolicy.RETAIN }
          : { cloudWatchRole: false }),
        deployOptions: {
          stageName: this.stageName,
          accessLogDestination: new apigw.LogGroupLogDestination(this.accessLogs),
          accessLogFormat: apigw.AccessLogFormat.custom(ACCESS_LOG_FORMAT),
          tracingEnabled: props.tracing ?? false,
          throttlingRateLimit: throttling.rateLimit,
          throttlingBurstLimit: throttling.burstLimit,
          ...methodDefaults,
          // A method setting for a method that does not exist fails the deployment: only if the route does.
          ...(hasLogin ? { methodOptions: { [`${LOGIN_PATH}/POST`]: loginMethodOptions } } : {}),
        },
      });

      const cloudWatchRole = this.api.node.tryFindChild('CloudWatchRole');
      if (cloudWatchRole) {
        Validations.of(cloudWatchRole).acknowledge({
          id: 'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AmazonAPIGatewayPushToCloudWatchLogs]',
          reason: 'The account-level role API Gateway needs for access and execution logs; AmazonAPIGatewayPushToCloudWatchLogs is the policy AWS documents for it, and it is assumable by API Gateway only.',
        });
      }
    }

    this.authorizer = new apigw.TokenAuthorizer(this, 'TokenAuthorizer', {
      handler: props.authorizerFunction,
      authorizerName: 'tokengate-token',
      identitySource: AUTHORIZER_IDENTITY_SOURCE,
      validationRegex: AUTHORIZER_VALIDATION_REGEX,
      resultsCacheTtl: props.authorizerCacheTtl ?? Duration.seconds(300),
    });

    this.validator = new apigw.RequestValidator(this, 'Validator', {
      restApi: this.api,
      requestValidatorName: 'body-and-parameters',
      validateRequestBody: true,
      validateRequestParameters: true,
    });

    const own = new Map<string, apigw.Integration>();
    const teams = props.integrations ?? {};
    for (const name of Object.keys(teams)) {
      if (Object.hasOwn(props.handlers, name)) throw new Error(`${this.node.path}: "${name}" is one of tokengate's own functions; name the integration differently`);
    }
    const integrationFor = (name: string): apigw.Integration => {
      let integration = own.get(name);
      if (integration) return integration;
      const fn = Object.hasOwn(props.handlers, name) ? props.handlers[name] : undefined;
      const team = Object.hasOwn(teams, name) ? teams[name] : undefined;
      if (fn) {
        // allowTestInvoke false: the console's test-invoke bypasses the authorizer; no permission for it.
        integration = new apigw.LambdaIntegration(fn, { proxy: true, allowTestInvoke: false });
      } else if (team instanceof apigw.Integration) {
        integration = team;
      } else if (team) {
        integration = this.stageScopedLambda(name, team);
      } else {
        throw new Error(`${this.node.path}: no function or integration for route handler "${name}"`);
      }
      own.set(name, integration);
      return integration;
    };

    const methods = new Map<string, apigw.Method>();
    const methodsByPath = new Map<string, string[]>();
    for (const route of props.routes) {
      const key = `${route.method} ${route.path}`;
      if (methods.has(key)) throw new Error(`route ${key} appears twice in the route table`);
      const resource = this.api.root.resourceForPath(route.path);
      const pathParams = [...route.path.matchAll(/\{([^}]+)\}/g)].map((m) => m[1] as string);
      const schema = REQUEST_BODY_SCHEMAS[key];
      const model = schema
        ? new apigw.Model(this, `${schema.title ?? 'Body'}Model`, { restApi: this.api, contentType: 'application/json', schema })
        : undefined;
      const validated = model !== undefined || pathParams.length > 0;

      const method = resource.addMethod(route.method, integrationFor(route.handler), {
        ...(route.permission === null
          ? { authorizationType: apigw.AuthorizationType.NONE }
          : { authorizationType: apigw.AuthorizationType.CUSTOM, authorizer: this.authorizer }),
        ...(model ? { requestModels: { 'application/json': model } } : {}),
        ...(pathParams.length > 0
          ? { requestParameters: Object.fromEntries(pathParams.map((p) => [`method.request.path.${p}`, true])) }
          : {}),
        ...(validated ? { requestValidator: this.validator } : {}),
      });
      methods.set(key, method);
      methodsByPath.set(route.path, [...(methodsByPath.get(route.path) ?? []), route.method]);
    }
    this.methods = methods;

    const preflights = new Map<string, apigw.Method>();
    if (origins.length > 0) {
      for (const [path, verbs] of methodsByPath) {
        const resource = this.api.root.resourceForPath(path);
        // A passed-in API may answer preflights itself (defaultCorsPreflightOptions): it keeps its own.
        if (resource.node.tryFindChild('OPTIONS')) continue;
        preflights.set(
          path,
          resource.addCorsPreflight({
            allowOrigins: origins,
            allowMethods: [...verbs, 'OPTIONS'],
            allowHeaders: [...CORS_ALLOW_HEADERS],
            // Cookie mode: the refresh token travels in an HttpOnly cookie, which needs credentialed requests.
            allowCredentials: true,
            maxAge: Duration.minutes(10),
          }),
        );
      }
    }
    this.preflights = preflights;

    this.addGatewayResponses(origins);

    if (props.webAclArn && props.wafRateLimitPerIp !== undefined) {
      throw new Error('webAclArn and wafRateLimitPerIp exclude each other: a stage takes one web ACL');
    }
    if (props.wafRateLimitPerIp !== undefined) {
      this.webAcl = this.authRateLimitAcl(props.wafRateLimitPerIp, this.stageName);
    }
    const webAclArn = props.webAclArn ?? this.webAcl?.attrArn;
    if (webAclArn) {
      new wafv2.CfnWebACLAssociation(this, 'WebAcl', {
        resourceArn: this.api.deploymentStage.stageArn,
        webAclArn,
      });
    }
  }

  /**
   * A web ACL that allows everything except an IP address over `limit` requests to the auth routes in 5 minutes,
   * which WAF answers 429 with the body API Gateway's own throttling gives, until the address slows down. The
   * scope-down matches the path as WAF sees it: `/<stage>/auth/…` on the execute-api URL, `/auth/…` on a custom
   * domain mapped at the root; URL-decoded and normalised first, so `%61uth` or `//auth` count as well.
   */
  private authRateLimitAcl(limit: number, stageName: string): wafv2.CfnWebACL {
    const startsWith = (prefix: string): wafv2.CfnWebACL.StatementProperty => ({
      byteMatchStatement: {
        fieldToMatch: { uriPath: {} },
        positionalConstraint: 'STARTS_WITH',
        searchString: prefix,
        textTransformations: [
          { priority: 0, type: 'URL_DECODE' },
          { priority: 1, type: 'NORMALIZE_PATH' },
        ],
      },
    });
    const metric = (name: string) => ({ cloudWatchMetricsEnabled: true, metricName: name, sampledRequestsEnabled: true });
    return new wafv2.CfnWebACL(this, 'AuthRateLimit', {
      scope: 'REGIONAL',
      // CloudFormation allows no '*' or parentheses here.
      description: 'tokengate: per-IP rate limit on /auth/ - login, refresh, logout',
      defaultAction: { allow: {} },
      visibilityConfig: metric('tokengate-web-acl'),
      customResponseBodies: {
        TooManyRequests: { contentType: 'APPLICATION_JSON', content: '{"message":"Too Many Requests"}' },
      },
      rules: [
        {
          name: 'AuthRoutesPerIp',
          priority: 0,
          action: { block: { customResponse: { responseCode: 429, customResponseBodyKey: 'TooManyRequests' } } },
          statement: {
            rateBasedStatement: {
              aggregateKeyType: 'IP',
              limit,
              evaluationWindowSec: 300,
              scopeDownStatement: { orStatement: { statements: [startsWith(`/${stageName}/auth/`), startsWith('/auth/')] } },
            },
          },
          visibilityConfig: metric('tokengate-auth-rate-limit'),
        },
      ],
    });
  }

  /**
   * `https://<api id>.execute-api.<region>.<url suffix>/<stage>/`, built from the API's id, not from its stage:
   * a function behind the API may carry it in its environment without a dependency cycle (the stage depends on
   * the deployment, the deployment on the methods, the methods on the functions).
   */
  get baseUrl(): string {
    return `https://${this.api.restApiId}.execute-api.${Aws.REGION}.${Aws.URL_SUFFIX}/${this.stageName}/`;
  }

  /** `<base url>.well-known/jwks.json` (cycle-free, like `baseUrl`). */
  get jwksUrl(): string {
    return `${this.baseUrl}.well-known/jwks.json`;
  }

  /**
   * A Lambda proxy integration whose function may be invoked by this API's stage, through any of its methods:
   * one permission per function instead of one per method. A team's function may serve hundreds of routes, and
   * per-method permissions would break two hard limits first: 20 KB for a function's resource policy (about 60
   * permissions) and 500 resources per CloudFormation stack. The console's test-invoke (a stage of its own) is
   * not allowed: it would bypass the authorizer.
   */
  private stageScopedLambda(name: string, fn: IFunction): apigw.Integration {
    fn.addPermission(`Invoke-${name}`, {
      principal: new iam.ServicePrincipal('apigateway.amazonaws.com'),
      sourceArn: this.api.arnForExecuteApi('*', '/*', this.stageName),
      scope: this,
    });
    return new apigw.AwsIntegration({ proxy: true, service: 'lambda', path: `2015-03-31/functions/${fn.functionArn}/invocations` });
  }

  /**
   * Answers API Gateway gives by itself (no valid token, denied, authorizer down, bad body, throttled…) as JSON.
   *
   * CORS: a gateway response has no logic (its headers are constants or copies of request values, its template
   * is not run through VTL), so it cannot tell an allowed origin from any other. With exactly one allowed origin
   * it names that origin literally, so a browser client there can read a 401 and refresh instead of seeing a
   * network error. With several it sends no CORS headers at all: copying the request's Origin with credentials
   * would hand every site on the web a credentialed read of these answers. Browser clients then see gateway
   * errors as network errors (docs/DEPLOY.md, "CORS"); the functions' own answers still carry CORS headers for
   * each allowed origin, exactly (lambdas/http/cors.ts).
   */
  private addGatewayResponses(origins: readonly string[]): void {
    const cors: Record<string, string> = {};
    if (origins.length === 1) {
      cors['Access-Control-Allow-Origin'] = `'${origins[0]}'`;
      cors['Access-Control-Allow-Credentials'] = "'true'";
      cors['Vary'] = "'Origin'";
    }
    const json = (body: string) => ({ 'application/json': body });
    // Status codes and bodies stay what API Gateway answers by default (and what the local gateway, lib/local,
    // reproduces), so local and cloud agree; what changes is that every one is JSON (with CORS headers as above).
    const messageString = '{"message":$context.error.messageString}';
    const responses: [string, apigw.ResponseType, string, string, Record<string, string>?][] = [
      ['Unauthorized', apigw.ResponseType.UNAUTHORIZED, '401', '{"message":"Unauthorized"}', { 'WWW-Authenticate': "'Bearer'" }],
      // Capital M, as API Gateway's own 403 body for a denied policy.
      ['AccessDenied', apigw.ResponseType.ACCESS_DENIED, '403', '{"Message":$context.error.messageString}'],
      // The authorizer threw (its store is down and it fails closed, or a bug): 500, never cached, never let through.
      ['AuthorizerFailure', apigw.ResponseType.AUTHORIZER_FAILURE, '500', messageString],
      ['AuthorizerConfigurationError', apigw.ResponseType.AUTHORIZER_CONFIGURATION_ERROR, '500', messageString],
      // The login/refresh body failed validation: the same answer the handler gives (RFC 6749 invalid_request).
      ['BadRequestBody', apigw.ResponseType.BAD_REQUEST_BODY, '400', '{"error":"invalid_request"}'],
      ['BadRequestParameters', apigw.ResponseType.BAD_REQUEST_PARAMETERS, '400', '{"error":"invalid_request"}'],
      // Everything else keeps its status (e.g. 403 Missing Authentication Token for an unknown route, 429).
      ['Default4xx', apigw.ResponseType.DEFAULT_4XX, '', messageString],
      ['Default5xx', apigw.ResponseType.DEFAULT_5XX, '', messageString],
    ];
    for (const [id, type, statusCode, body, extra] of responses) {
      new apigw.GatewayResponse(this, id, {
        restApi: this.api,
        type,
        ...(statusCode ? { statusCode } : {}),
        responseHeaders: { ...cors, 'Content-Type': "'application/json'", ...extra },
        templates: json(body),
      });
    }
  }
}

/**
 * One JSON object per request. Never the Authorization header or a body: only ids, timings, status and the
 * authorizer's principal (the username) and error.
 */
const ACCESS_LOG_FORMAT = JSON.stringify({
  requestId: apigw.AccessLogField.contextRequestId(),
  extendedRequestId: apigw.AccessLogField.contextExtendedRequestId(),
  requestTime: apigw.AccessLogField.contextRequestTimeEpoch(),
  ip: apigw.AccessLogField.contextIdentitySourceIp(),
  userAgent: apigw.AccessLogField.contextIdentityUserAgent(),
  method: apigw.AccessLogField.contextHttpMethod(),
  resourcePath: apigw.AccessLogField.contextResourcePath(),
  status: apigw.AccessLogField.contextStatus(),
  protocol: apigw.AccessLogField.contextProtocol(),
  responseLength: apigw.AccessLogField.contextResponseLength(),
  responseLatency: apigw.AccessLogField.contextResponseLatency(),
  integrationLatency: apigw.AccessLogField.contextIntegrationLatency(),
  integrationStatus: apigw.AccessLogField.contextIntegrationStatus(),
  principalId: apigw.AccessLogField.contextAuthorizerPrincipalId(),
  authorizerStatus: apigw.AccessLogField.contextAuthorizerStatus(),
  authorizerLatency: apigw.AccessLogField.contextAuthorizerLatency(),
  authorizerError: apigw.AccessLogField.contextAuthorizerError(),
  errorType: apigw.AccessLogField.contextErrorResponseType(),
  errorMessage: apigw.AccessLogField.contextErrorMessage(),
  xrayTraceId: apigw.AccessLogField.contextXrayTraceId(),
});

/**
 * Adds a method setting to a stage that was created elsewhere (a team's RestApi): CDK sets method options only
 * when the stage is constructed, so the CloudFormation resource gets it.
 */
function addMethodSetting(stage: apigw.Stage, path: string, httpMethod: string, options: apigw.MethodDeploymentOptions): void {
  const cfn = stage.node.defaultChild as apigw.CfnStage;
  const existing = cfn.methodSettings;
  if (existing !== undefined && !Array.isArray(existing)) throw new Error(`${stage.node.path}: method settings are not a list; cannot add ${httpMethod} ${path}`);
  const setting: apigw.CfnStage.MethodSettingProperty = {
    // As CloudFormation writes a resource path in a method setting: `/auth/login` → `/~1auth~1login`.
    resourcePath: `/${path.replace(/\//g, '~1')}`,
    httpMethod,
    ...(options.loggingLevel !== undefined ? { loggingLevel: options.loggingLevel } : {}),
    ...(options.dataTraceEnabled !== undefined ? { dataTraceEnabled: options.dataTraceEnabled } : {}),
    ...(options.metricsEnabled !== undefined ? { metricsEnabled: options.metricsEnabled } : {}),
    ...(options.throttlingRateLimit !== undefined ? { throttlingRateLimit: options.throttlingRateLimit } : {}),
    ...(options.throttlingBurstLimit !== undefined ? { throttlingBurstLimit: options.throttlingBurstLimit } : {}),
  };
  cfn.methodSettings = [...(existing ?? []), setting];
}
