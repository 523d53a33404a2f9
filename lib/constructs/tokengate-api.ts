/**
 * The REST API: one resource/method per route of the route table, Lambda proxy integrations, the TOKEN
 * authorizer on exactly the protected routes, a stage with JSON access logs and throttling, request
 * validation for the auth bodies, JSON gateway responses, and CORS when origins are configured.
 */
import { Duration, RemovalPolicy, Validations } from 'aws-cdk-lib';
import * as apigw from 'aws-cdk-lib/aws-apigateway';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as wafv2 from 'aws-cdk-lib/aws-wafv2';
import { Construct } from 'constructs';
import type { FunctionName, Route } from '../routes.js';
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
  /** The route table (lib/routes.ts). */
  readonly routes: readonly Route[];
  /** The function serving each `route.handler`. */
  readonly handlers: Readonly<Record<string, IFunction>>;
  /** The TOKEN authorizer function. */
  readonly authorizerFunction: IFunction;
  /** @default Duration.seconds(300); Duration.seconds(0) disables the cache */
  readonly authorizerCacheTtl?: Duration;
  /** @default [] (no CORS) */
  readonly corsAllowOrigins?: readonly string[];
  /** Stage-wide throttling. @default { rateLimit: 100, burstLimit: 200 } */
  readonly throttling?: ThrottleSettings;
  /** Tighter throttling for POST /auth/login. @default { rateLimit: 10, burstLimit: 20 } */
  readonly loginThrottling?: ThrottleSettings;
  /** @default 'prod' */
  readonly stageName?: string;
  /** @default false */
  readonly tracing?: boolean;
  /** @default RetentionDays.ONE_MONTH */
  readonly logRetention?: logs.RetentionDays;
  /**
   * Create the account-level role API Gateway needs to write logs (one per account and region, the last stack
   * that sets it wins; retained on update and destroy, deleted when the stack's first create fails). Set false
   * when the account already has one or your organisation manages it (setting `manageAccountCloudWatchRole`).
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
  readonly authorizer: apigw.TokenAuthorizer;
  readonly accessLogs: logs.LogGroup;
  /** `API-Gateway-Execution-Logs_{restApiId}/{stageName}`, with the stack's retention. */
  readonly executionLogs: logs.LogGroup;
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

    this.accessLogs = new logs.LogGroup(this, 'AccessLogs', {
      retention: props.logRetention ?? logs.RetentionDays.ONE_MONTH,
      removalPolicy: RemovalPolicy.DESTROY,
    });

    const methodDefaults = {
      // ERROR only: INFO would log authorizer context. Data tracing stays off: it would log request bodies
      // (passwords, refresh tokens) and headers (bearer tokens).
      loggingLevel: apigw.MethodLoggingLevel.ERROR,
      dataTraceEnabled: false,
      metricsEnabled: true,
    };

    this.api = new apigw.RestApi(this, 'Api', {
      restApiName: 'tokengate',
      description: 'tokengate: login, refresh, logout, JWKS and the demo orders service',
      endpointTypes: [apigw.EndpointType.REGIONAL],
      ...((props.manageAccountCloudWatchRole ?? true)
        ? { cloudWatchRole: true, cloudWatchRoleRemovalPolicy: RemovalPolicy.RETAIN_ON_UPDATE_OR_DELETE }
        : { cloudWatchRole: false }),
      deployOptions: {
        stageName: props.stageName ?? 'prod',
        accessLogDestination: new apigw.LogGroupLogDestination(this.accessLogs),
        accessLogFormat: apigw.AccessLogFormat.custom(ACCESS_LOG_FORMAT),
        tracingEnabled: props.tracing ?? false,
        throttlingRateLimit: throttling.rateLimit,
        throttlingBurstLimit: throttling.burstLimit,
        ...methodDefaults,
        // A method setting for a method that does not exist fails the deployment: only if the route does.
        ...(props.routes.some((r) => r.method === 'POST' && r.path === LOGIN_PATH)
          ? {
              methodOptions: {
                [`${LOGIN_PATH}/POST`]: {
                  ...methodDefaults,
                  throttlingRateLimit: loginThrottling.rateLimit,
                  throttlingBurstLimit: loginThrottling.burstLimit,
                },
              },
            }
          : {}),
      },
    });

    // The stage's execution log group, which API Gateway would otherwise create itself, outside the stack, with
    // no retention, surviving destroy. Created before the stage, so API Gateway finds it and writes into it.
    this.executionLogs = new logs.LogGroup(this, 'ExecutionLogs', {
      logGroupName: `API-Gateway-Execution-Logs_${this.api.restApiId}/${props.stageName ?? 'prod'}`,
      retention: props.logRetention ?? logs.RetentionDays.ONE_MONTH,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    this.api.deploymentStage.node.addDependency(this.executionLogs);

    const cloudWatchRole = this.api.node.tryFindChild('CloudWatchRole');
    if (cloudWatchRole) {
      Validations.of(cloudWatchRole).acknowledge({
        id: 'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AmazonAPIGatewayPushToCloudWatchLogs]',
        reason: 'The account-level role API Gateway needs for access and execution logs; AmazonAPIGatewayPushToCloudWatchLogs is the policy AWS documents for it, and it is assumable by API Gateway only.',
      });
    }

    this.authorizer = new apigw.TokenAuthorizer(this, 'TokenAuthorizer', {
      handler: props.authorizerFunction,
      authorizerName: 'tokengate-token',
      identitySource: AUTHORIZER_IDENTITY_SOURCE,
      validationRegex: AUTHORIZER_VALIDATION_REGEX,
      resultsCacheTtl: props.authorizerCacheTtl ?? Duration.seconds(300),
    });

    this.validator = this.api.addRequestValidator('Validator', {
      requestValidatorName: 'body-and-parameters',
      validateRequestBody: true,
      validateRequestParameters: true,
    });

    const integrations = new Map<string, apigw.LambdaIntegration>();
    const integrationFor = (name: string): apigw.LambdaIntegration => {
      let integration = integrations.get(name);
      if (!integration) {
        const fn = props.handlers[name];
        if (!fn) throw new Error(`no function for route handler "${name}"`);
        // allowTestInvoke false: the console's test-invoke bypasses the authorizer; no permission for it.
        integration = new apigw.LambdaIntegration(fn, { proxy: true, allowTestInvoke: false });
        integrations.set(name, integration);
      }
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
        ? this.api.addModel(`${schema.title ?? 'Body'}Model`, { contentType: 'application/json', schema })
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
        preflights.set(
          path,
          this.api.root.resourceForPath(path).addCorsPreflight({
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
      this.webAcl = this.authRateLimitAcl(props.wafRateLimitPerIp, props.stageName ?? 'prod');
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

  /** `<api url>.well-known/jwks.json` */
  get jwksUrl(): string {
    return this.api.urlForPath('/.well-known/jwks.json');
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
      this.api.addGatewayResponse(id, {
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
