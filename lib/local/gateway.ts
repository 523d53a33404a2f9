/**
 * A local REST API (v1) Gateway with a Lambda TOKEN authorizer and Lambda proxy integrations, for `npm start`
 * and the integration tests. It serves the route table at `/` (no stage prefix in the URL) and answers the
 * way the deployed stage does, including its gateway responses.
 *
 * Per request: route (unknown path or method → 403 Missing Authentication Token) → a declared body over the
 * payload quota (→ 413, from the headers alone) → for a protected route, exactly one identity source (two
 * `Authorization` headers → 401) and the token authorizer (401 / 403 / 500, cached per token), all before a
 * byte of the body is read → the body, bounded while it streams (→ 413 as soon as it crosses the quota) →
 * build the proxy event → invoke the function (throws or malformed result → 502, over 29 s → 504) → map its
 * result. An answer given while a body is still unread closes the connection rather than draining the body.
 *
 * The listener (`listen`) bounds what a client can hold: headers within `headersTimeoutMs`, the whole request
 * within `requestTimeoutMs` (→ 408 and close, Node's answer), idle keep-alive connections closed after
 * `keepAliveTimeoutMs`, headers within `maxHeaderBytes` (→ 431), at most `maxConnections` connections (more are
 * closed at once, unanswered, and counted in `connections.dropped`).
 *
 * The pieces live beside this file: router.ts, read-body.ts, token-authorizer.ts (with authorizer-cache.ts,
 * authorizer-result.ts, policy-eval.ts), proxy-event.ts, proxy-result.ts, gateway-responses.ts,
 * lambda-context.ts, access-log.ts.
 */
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import type { APIGatewayProxyEvent, APIGatewayProxyResult, Context } from 'aws-lambda';
import { systemClock, type Clock } from '../../lambdas/core/clock.js';
import { ConfigError } from '../../lambdas/core/errors.js';
import { BEARER_VALIDATION_REGEX } from '../bearer-format.js';
import { buildOpenApi } from '../openapi.js';
import type { Route } from '../routes.js';
import { AccessLog, accessLine } from './access-log.js';
import { GatewayErrors, sendGatewayError, type GatewayError } from './gateway-responses.js';
import { createLambdaContext, invokeWithTimeout, INVOCATION_TIMEOUT } from './lambda-context.js';
import { clientAddress, ProxyEventFactory } from './proxy-event.js';
import { mapProxyResult } from './proxy-result.js';
import { ABORTED, planBody, readBody, TOO_LARGE } from './read-body.js';
import { BAD_PATH_ENCODING, Router, type RouteMatch } from './router.js';
import { TokenAuthorizer, type AuthorizedCaller, type TokenAuthorizerHandler } from './token-authorizer.js';

export type { TokenAuthorizerHandler } from './token-authorizer.js';

export type ProxyHandler = (event: APIGatewayProxyEvent, context: Context) => Promise<APIGatewayProxyResult>;

export interface LocalGatewayOptions {
  routes: readonly Route[];
  handlers: Readonly<Record<string, ProxyHandler>>;
  authorizer: TokenAuthorizerHandler;
  /** Authorizer result cache TTL; 0 disables the cache. */
  authorizerCacheTtlSeconds: number;
  /** @default /^Bearer [-0-9A-Za-z_]+\.[-0-9A-Za-z_]+\.[-0-9A-Za-z_]+$/ (what the CDK stack configures) */
  identityValidationRegex?: RegExp;
  /** Drives the cache TTL and requestTimeEpoch. @default systemClock */
  clock?: Clock;
  /** @default 'us-east-1' */
  region?: string;
  /** @default '123456789012' */
  accountId?: string;
  /** @default 'local' */
  apiId?: string;
  /** @default 'local' */
  stage?: string;
  /** Larger bodies get 413 {"message":"Request Too Long"}. @default 10 MiB, API Gateway's quota */
  maxBodyBytes?: number;
  /**
   * Time a client has to send the complete request headers; then Node answers 408 and closes.
   * @default 10 000 ms (Node's own default is 60 s)
   */
  headersTimeoutMs?: number;
  /**
   * Time a client has to send the whole request (headers and body); then Node answers 408 and closes. Must be
   * at least `headersTimeoutMs`. A protected request's body waits for the authorizer (up to 29 s), so keep it
   * above that. @default 60 000 ms (Node's own default is 300 s)
   */
  requestTimeoutMs?: number;
  /** An idle keep-alive connection is closed after this long. @default 5 000 ms (Node's default) */
  keepAliveTimeoutMs?: number;
  /**
   * Request line and headers larger than this get 431 from Node. @default 10 240 bytes: API Gateway's REST API
   * quota on the "total combined size of all header values, including header names, values, any line
   * terminators, and whitespaces" (Node also counts the request line; Node's own default is 16 KiB)
   */
  maxHeaderBytes?: number;
  /**
   * Open connections at most; a connection beyond it is closed as soon as it is accepted, without an HTTP
   * answer (Node's `server.maxConnections`), and counted in `connections.dropped`. @default 1024
   */
  maxConnections?: number;
  /** One access-log line per request, delivered asynchronously; never contains headers, bodies or tokens. */
  log?: (line: string) => void;
  /**
   * Told about function failures the client only sees as 500/502/504 (authorizer errors other than
   * "Unauthorized", malformed authorizer output, integration errors), as CloudWatch would be. The error may
   * carry request data; route it to a developer console, not to a shared log.
   */
  onFunctionError?: (error: unknown, functionName: string) => void;
  /**
   * `GET /openapi.json` (public, no authorizer), as the deployed API serves it: by default the OpenAPI 3.1 document
   * lib/openapi.ts builds from `routes`; or a document of your own (a title, the services' descriptions); or
   * `false` for none (the path then answers as any undeclared one: 403 Missing Authentication Token).
   * Serialized once, here. @default true
   */
  openapi?: object | boolean;
}

export interface LocalGateway {
  /** Starts listening (port 0 picks a free port). @default host '127.0.0.1' */
  listen(port: number, host?: string): Promise<{ url: string; port: number }>;
  /** Stops listening, closes every connection (idle keep-alive ones included) and flushes the log. */
  close(): Promise<void>;
  /** Serves one request; mountable in another server. */
  handle(req: IncomingMessage, res: ServerResponse): void;
  readonly stats: { authorizerInvocations: number; cacheHits: number };
  /** Connections open now, and those refused over `maxConnections` since `listen`. */
  readonly connections: { readonly open: number; readonly dropped: number };
}

export const DEFAULT_IDENTITY_VALIDATION = BEARER_VALIDATION_REGEX;
export const DEFAULT_MAX_BODY_BYTES = 10 * 1024 * 1024;
/** API Gateway's maximum integration timeout. */
export const INTEGRATION_TIMEOUT_MS = 29_000;
/** Documented limit of an authorization-enabled method ARN; longer ones are answered 414. */
export const MAX_METHOD_ARN_BYTES = 1600;
export const DEFAULT_HEADERS_TIMEOUT_MS = 10_000;
export const DEFAULT_REQUEST_TIMEOUT_MS = 60_000;
export const DEFAULT_KEEP_ALIVE_TIMEOUT_MS = 5_000;
/** API Gateway's REST API quota on the combined size of the request headers. */
export const DEFAULT_MAX_HEADER_BYTES = 10_240;
export const DEFAULT_MAX_CONNECTIONS = 1024;
/** Where the `openapi` document is served. */
export const OPENAPI_PATH = '/openapi.json';

interface ServerLimits {
  readonly headersTimeoutMs: number;
  readonly requestTimeoutMs: number;
  readonly keepAliveTimeoutMs: number;
  readonly maxHeaderBytes: number;
  readonly maxConnections: number;
}

function positiveInteger(name: string, value: number | undefined, fallback: number): number {
  const v = value ?? fallback;
  if (!Number.isSafeInteger(v) || v <= 0) throw new ConfigError(`${name} must be a positive integer`);
  return v;
}

function serverLimits(opts: LocalGatewayOptions): ServerLimits {
  const limits: ServerLimits = {
    headersTimeoutMs: positiveInteger('headersTimeoutMs', opts.headersTimeoutMs, DEFAULT_HEADERS_TIMEOUT_MS),
    requestTimeoutMs: positiveInteger('requestTimeoutMs', opts.requestTimeoutMs, DEFAULT_REQUEST_TIMEOUT_MS),
    keepAliveTimeoutMs: positiveInteger('keepAliveTimeoutMs', opts.keepAliveTimeoutMs, DEFAULT_KEEP_ALIVE_TIMEOUT_MS),
    maxHeaderBytes: positiveInteger('maxHeaderBytes', opts.maxHeaderBytes, DEFAULT_MAX_HEADER_BYTES),
    maxConnections: positiveInteger('maxConnections', opts.maxConnections, DEFAULT_MAX_CONNECTIONS),
  };
  // Node refuses this combination too (ERR_OUT_OF_RANGE at createServer); say it in our terms, up front.
  if (limits.headersTimeoutMs > limits.requestTimeoutMs) {
    throw new ConfigError('headersTimeoutMs must not be larger than requestTimeoutMs');
  }
  return limits;
}

/**
 * How many `Authorization` headers the request carries (any letter case). API Gateway does not document what a
 * TOKEN authorizer does when its identity-source header is repeated: the proxy event's `headers` keeps one
 * value while `multiValueHeaders` keeps all, and which one the authorizer would be given is unspecified
 * (LocalStack's emulator leaves the same question as a TODO). The identity is then ambiguous, so the emulator
 * refuses it like a missing identity source, 401 {"message":"Unauthorized"}, without invoking the authorizer:
 * the authorizer and the function can never be shown different tokens.
 */
function authorizationHeaderCount(req: IncomingMessage): number {
  return req.headersDistinct.authorization?.length ?? 0;
}

export function createLocalGateway(opts: LocalGatewayOptions): LocalGateway {
  return new LocalRestGateway(opts);
}

interface Target {
  readonly path: string;
  readonly query: string | undefined;
}

/** Splits the request target into path and query; undefined for a target that is not a path. */
function splitTarget(url: string): Target | undefined {
  let target = url;
  if (target.charCodeAt(0) !== 47 /* '/' */) {
    // absolute-form (a proxy-style request): keep only the path and query
    if (!/^https?:\/\//i.test(target)) return undefined;
    try {
      const parsed = new URL(target);
      target = parsed.pathname + parsed.search;
    } catch {
      return undefined;
    }
  }
  const q = target.indexOf('?');
  return q < 0 ? { path: target, query: undefined } : { path: target.slice(0, q), query: target.slice(q + 1) };
}

class LocalRestGateway implements LocalGateway {
  readonly stats = { authorizerInvocations: 0, cacheHits: 0 };

  private readonly router: Router;
  private readonly authorizer: TokenAuthorizer;
  private readonly events: ProxyEventFactory;
  private readonly clock: Clock;
  private readonly arnPrefix: string;
  private readonly region: string;
  private readonly accountId: string;
  private readonly maxBodyBytes: number;
  private readonly accessLog: AccessLog | undefined;
  private readonly limits: ServerLimits;
  /** The OpenAPI document's bytes, when one is served. */
  private readonly openapi: Buffer | undefined;
  private server: Server | undefined;
  /** Counts for the current listener (a fresh object per `listen`, so a previous one's late closes don't count). */
  private connectionCounts = { open: 0, dropped: 0 };

  constructor(private readonly opts: LocalGatewayOptions) {
    const ttl = opts.authorizerCacheTtlSeconds;
    if (!Number.isFinite(ttl) || ttl < 0) throw new ConfigError('authorizerCacheTtlSeconds must be 0 or more');
    const maxBody = opts.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES;
    if (!Number.isFinite(maxBody) || maxBody < 0) throw new ConfigError('maxBodyBytes must be 0 or more');
    this.limits = serverLimits(opts);
    const openapi = opts.openapi ?? true;
    this.openapi = openapi === false ? undefined : Buffer.from(JSON.stringify(openapi === true ? buildOpenApi({ routes: opts.routes }) : openapi));
    for (const route of opts.routes) {
      if (typeof opts.handlers[route.handler] !== 'function') {
        throw new ConfigError(`no handler for function "${route.handler}" (${route.method} ${route.path})`);
      }
    }

    this.region = opts.region ?? 'us-east-1';
    this.accountId = opts.accountId ?? '123456789012';
    const apiId = opts.apiId ?? 'local';
    const stage = opts.stage ?? 'local';
    this.clock = opts.clock ?? systemClock;
    this.maxBodyBytes = maxBody;
    this.arnPrefix = `arn:aws:execute-api:${this.region}:${this.accountId}:${apiId}/${stage}/`;
    this.router = new Router(opts.routes);
    this.events = new ProxyEventFactory({ accountId: this.accountId, apiId, stage });
    this.accessLog = opts.log ? new AccessLog(opts.log) : undefined;
    this.authorizer = new TokenAuthorizer({
      handler: opts.authorizer,
      cacheTtlSeconds: ttl,
      identityValidation: opts.identityValidationRegex ?? DEFAULT_IDENTITY_VALIDATION,
      clock: this.clock,
      lambdaEnv: { region: this.region, accountId: this.accountId },
      timeoutMs: INTEGRATION_TIMEOUT_MS,
      stats: this.stats,
      onFailure: (error) => this.report(error, 'authorizer'),
    });
  }

  readonly handle = (req: IncomingMessage, res: ServerResponse): void => {
    const started = this.accessLog ? performance.now() : 0;
    const receivedAt = this.clock.now();
    const requestId = randomUUID();
    const method = req.method ?? 'GET';
    const target = splitTarget(req.url ?? '/');
    this.respond(req, res, requestId, method, target, receivedAt).then(
      (status) => this.logRequest(req, requestId, method, target, status, receivedAt, started),
      (error: unknown) => {
        // Only a bug in the emulator gets here; the client still gets an answer, the process lives on.
        this.report(error, 'gateway');
        let status = 0;
        try {
          status = sendGatewayError(res, GatewayErrors.internal, requestId);
        } catch {
          res.destroy();
        }
        this.logRequest(req, requestId, method, target, status, receivedAt, started);
      },
    );
  };

  /** Serves the request; resolves to the status written (0 when the client went away first). */
  private async respond(
    req: IncomingMessage,
    res: ServerResponse,
    requestId: string,
    method: string,
    target: Target | undefined,
    receivedAt: number,
  ): Promise<number> {
    // Decided from the headers alone; nothing of the body is read before the caller is authorized.
    const plan = planBody(req, this.maxBodyBytes);
    // An answer given while a body is unread closes the connection: the body is neither buffered nor drained.
    const fail = (error: GatewayError): number => sendGatewayError(res, error, requestId, plan !== 'none');
    if (target === undefined) return fail(GatewayErrors.badRequest);
    if (this.openapi && method === 'GET' && target.path === OPENAPI_PATH) return this.sendOpenApi(res, requestId, plan !== 'none');
    const match = this.router.match(method, target.path);
    if (match === null) return fail(GatewayErrors.missingAuthenticationToken);
    if (match === BAD_PATH_ENCODING) return fail(GatewayErrors.badRequest);
    if (plan === TOO_LARGE) return fail(GatewayErrors.requestTooLarge);

    let caller: AuthorizedCaller | undefined;
    if (match.compiled.route.permission !== null) {
      const methodArn = this.arnPrefix + method + target.path;
      if (Buffer.byteLength(methodArn) > MAX_METHOD_ARN_BYTES) return fail(GatewayErrors.uriTooLong);
      if (authorizationHeaderCount(req) > 1) return fail(GatewayErrors.unauthorized);
      const token = req.headers.authorization;
      let outcome = this.authorizer.precheck(token, methodArn, receivedAt);
      if (outcome === undefined) outcome = await this.authorizer.invoke(token ?? '', methodArn);
      if (outcome.kind === 'gateway-error') return fail(outcome);
      caller = outcome;
    }

    let body: Buffer | null = null;
    if (plan === 'read') {
      const read = await readBody(req, this.maxBodyBytes);
      if (read === ABORTED) return 0;
      if (read === TOO_LARGE) return fail(GatewayErrors.requestTooLarge);
      body = read;
    }

    return this.integrate(req, res, requestId, method, target, match, body, caller, receivedAt);
  }

  /** 200 with the OpenAPI document; a GET with a body gets its answer and the connection closes (as for refusals). */
  private sendOpenApi(res: ServerResponse, requestId: string, closeConnection: boolean): number {
    const body = this.openapi!;
    const headers = ['Content-Type', 'application/json', 'Content-Length', String(body.length), 'x-amzn-RequestId', requestId];
    if (closeConnection) headers.push('Connection', 'close');
    res.writeHead(200, headers);
    res.end(body);
    return 200;
  }

  private async integrate(
    req: IncomingMessage,
    res: ServerResponse,
    requestId: string,
    method: string,
    target: Target,
    match: RouteMatch,
    body: Buffer | null,
    caller: AuthorizedCaller | undefined,
    receivedAt: number,
  ): Promise<number> {
    const { route, resourceId } = match.compiled;
    const event = this.events.build({
      req,
      method,
      rawPath: target.path,
      rawQuery: target.query,
      resource: route.path,
      resourceId,
      pathParameters: match.pathParameters,
      body,
      requestId,
      receivedAt,
      authorizer: caller && {
        ...caller.context,
        principalId: caller.principalId,
        integrationLatency: caller.integrationLatency,
      },
    });
    const handler = this.opts.handlers[route.handler];
    if (!handler) throw new Error(`no handler for "${route.handler}"`);
    const env = { region: this.region, accountId: this.accountId };

    let result: unknown;
    try {
      result = await invokeWithTimeout(
        () => handler(event, createLambdaContext(route.handler, env, INTEGRATION_TIMEOUT_MS)),
        INTEGRATION_TIMEOUT_MS,
      );
    } catch (error) {
      if (error === INVOCATION_TIMEOUT) return sendGatewayError(res, GatewayErrors.integrationTimeout, requestId);
      this.report(error, route.handler);
      return sendGatewayError(res, GatewayErrors.integrationFailure, requestId);
    }

    const response = mapProxyResult(result);
    if (response === undefined) {
      this.report(new Error('Malformed Lambda proxy response'), route.handler);
      return sendGatewayError(res, GatewayErrors.integrationFailure, requestId);
    }
    if (res.destroyed) return 0;
    const { statusCode, headers } = response;
    const noBody = statusCode === 204 || statusCode === 304 || method === 'HEAD';
    headers.push('x-amzn-RequestId', requestId);
    if (!noBody) headers.push('Content-Length', String(response.body.length));
    try {
      res.writeHead(statusCode, headers);
    } catch (error) {
      // A header name or value Node refuses to send (control characters…): the function's fault.
      this.report(error, route.handler);
      return sendGatewayError(res, GatewayErrors.integrationFailure, requestId);
    }
    res.end(noBody ? undefined : response.body);
    return statusCode;
  }

  private report(error: unknown, functionName: string): void {
    const sink = this.opts.onFunctionError;
    if (!sink) return;
    try {
      sink(error, functionName);
    } catch {
      // a broken reporter must not break the response
    }
  }

  private logRequest(
    req: IncomingMessage,
    requestId: string,
    method: string,
    target: Target | undefined,
    status: number,
    receivedAt: number,
    started: number,
  ): void {
    if (!this.accessLog) return;
    try {
      const path = target?.path ?? '-';
      const latency = performance.now() - started;
      this.accessLog.write(accessLine(receivedAt, requestId, clientAddress(req), method, path, status, latency));
    } catch {
      // an unformattable line (a clock returning NaN…) is not worth a failed request
    }
  }

  get connections(): { open: number; dropped: number } {
    return { ...this.connectionCounts };
  }

  listen(port: number, host = '127.0.0.1'): Promise<{ url: string; port: number }> {
    if (this.server) return Promise.reject(new Error('the gateway is already listening'));
    const { headersTimeoutMs, requestTimeoutMs, keepAliveTimeoutMs, maxHeaderBytes, maxConnections } = this.limits;
    const server = createServer(
      {
        headersTimeout: headersTimeoutMs,
        requestTimeout: requestTimeoutMs,
        keepAliveTimeout: keepAliveTimeoutMs,
        maxHeaderSize: maxHeaderBytes,
        // Node checks the two timeouts on this period (30 s by default), so a timeout fires up to one period late.
        connectionsCheckingInterval: Math.max(10, Math.min(1_000, Math.floor(headersTimeoutMs / 4))),
      },
      this.handle,
    );
    server.maxConnections = maxConnections;
    const counts = { open: 0, dropped: 0 };
    this.connectionCounts = counts;
    // 'drop' is emitted for a connection refused over maxConnections; it never gets a 'connection' event.
    server.on('drop', () => {
      counts.dropped++;
    });
    server.on('connection', (socket: Socket) => {
      counts.open++;
      socket.once('close', () => {
        counts.open--;
      });
    });
    this.server = server;
    return new Promise((resolve, reject) => {
      const onError = (error: Error): void => {
        this.server = undefined;
        reject(error);
      };
      server.once('error', onError);
      server.listen(port, host, () => {
        server.off('error', onError);
        const { port: bound } = server.address() as AddressInfo;
        const shown = host.includes(':') ? `[${host}]` : host;
        resolve({ url: `http://${shown}:${bound}`, port: bound });
      });
    });
  }

  close(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    this.authorizer.clear();
    if (!server) {
      this.accessLog?.flush();
      return Promise.resolve();
    }
    return new Promise((resolve, reject) => {
      server.close((error) => {
        this.accessLog?.flush();
        if (error) reject(error);
        else resolve();
      });
      server.closeAllConnections();
    });
  }
}
