/**
 * Builds the Lambda proxy integration (REST API, payload 1.0) event for a request.
 *
 * What the deployed REST API does, and so this does:
 * - `path` is the request path as sent (still percent-encoded, no stage prefix); `resource` is the route
 *   template; `requestContext.path` carries the stage: `/{stage}{path}`.
 * - `headers` keeps the last value of each header, `multiValueHeaders` all of them, names in the case the
 *   client sent them, except `Authorization` and `User-Agent`, which arrive title-cased (they pass through
 *   CloudFront). Hop-by-hop headers (`Connection`, `Content-Length`, `Transfer-Encoding`) are not passed.
 *   `X-Forwarded-For` gets the client address appended; `X-Forwarded-Proto`/`-Port` describe this listener.
 * - Query parameters are form-decoded (`+` is a space); `queryStringParameters` keeps the last value,
 *   `multiValueQueryStringParameters` all of them; both are null when there is no query string.
 * - `pathParameters` and `stageVariables` are null when empty.
 * - `body` is null when empty, a UTF-8 string for text content types, base64 (with `isBase64Encoded`) for the
 *   rest. (The deployed API base64-encodes the media types listed in its binaryMediaTypes; here every
 *   non-text type counts as binary.)
 * - `requestContext.authorizer` is present only behind the authorizer: its context values (already strings),
 *   `principalId` and `integrationLatency`.
 *
 * A header or query parameter literally named `__proto__` is dropped: it cannot be an own key of a plain object.
 */
import type { IncomingMessage } from 'node:http';
import type { APIGatewayEventDefaultAuthorizerContext, APIGatewayProxyEvent } from 'aws-lambda';

export interface ApiIdentity {
  readonly accountId: string;
  readonly apiId: string;
  readonly stage: string;
}

export interface ProxyRequest {
  readonly req: IncomingMessage;
  readonly method: string;
  readonly rawPath: string;
  /** The query string without '?', or undefined when the URL has none. */
  readonly rawQuery: string | undefined;
  readonly resource: string;
  readonly resourceId: string;
  readonly pathParameters: Record<string, string> | null;
  readonly body: Buffer | null;
  readonly requestId: string;
  /** ms since the epoch, from the gateway's clock. */
  readonly receivedAt: number;
  readonly authorizer: APIGatewayEventDefaultAuthorizerContext;
}

type Headers = Record<string, string>;
type MultiHeaders = Record<string, string[]>;

function add(single: Headers, multi: MultiHeaders, name: string, value: string): void {
  single[name] = value;
  const values = multi[name];
  // Array.isArray, not `in`: an inherited member such as "constructor" must become an own key.
  if (Array.isArray(values)) values.push(value);
  else multi[name] = [value];
}

/** Lower-cases only when the length could match one of the names we look for. */
function classify(name: string): 'hop' | 'authorization' | 'user-agent' | 'xff' | 'forwarded' | undefined {
  switch (name.length) {
    case 10: {
      const lower = name.toLowerCase();
      if (lower === 'connection' || lower === 'keep-alive') return 'hop';
      if (lower === 'user-agent') return 'user-agent';
      return undefined;
    }
    case 13:
      return name.toLowerCase() === 'authorization' ? 'authorization' : undefined;
    case 14:
      return name.toLowerCase() === 'content-length' ? 'hop' : undefined;
    case 15:
      return name.toLowerCase() === 'x-forwarded-for' ? 'xff' : undefined;
    case 16:
      return name.toLowerCase() === 'x-forwarded-port' ? 'forwarded' : undefined;
    case 17: {
      const lower = name.toLowerCase();
      if (lower === 'transfer-encoding') return 'hop';
      if (lower === 'x-forwarded-proto') return 'forwarded';
      return undefined;
    }
    default:
      return undefined;
  }
}

const TEXT_TYPES = /^(?:text\/|application\/(?:[\w.+-]+\+)?(?:json|xml)\b|application\/(?:x-www-form-urlencoded|javascript|graphql)\b)/i;

/** Whether a body of this Content-Type goes to the function as text (otherwise base64). */
export const isTextContentType = (contentType: string | undefined): boolean =>
  contentType === undefined || contentType.length === 0 || TEXT_TYPES.test(contentType);

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
const pad = (n: number): string => (n < 10 ? `0${n}` : String(n));

/** `09/Apr/2015:12:34:56 +0000`, the format of `requestContext.requestTime`. */
export function formatRequestTime(ms: number): string {
  const d = new Date(ms);
  return (
    `${pad(d.getUTCDate())}/${MONTHS[d.getUTCMonth()]}/${d.getUTCFullYear()}:` +
    `${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())} +0000`
  );
}

export class ProxyEventFactory {
  /** requestTime only changes once a second: format it once a second. */
  private timeSecond = -1;
  private timeText = '';

  constructor(private readonly api: ApiIdentity) {}

  build(r: ProxyRequest): APIGatewayProxyEvent {
    const { req } = r;
    const headers: Headers = {};
    const multiValueHeaders: MultiHeaders = {};
    const sourceIp = clientAddress(req);
    const raw = req.rawHeaders;
    let forwardedFor: string | undefined;
    for (let i = 0; i + 1 < raw.length; i += 2) {
      let name = raw[i] as string;
      const value = raw[i + 1] as string;
      if (name === '__proto__') continue;
      const kind = classify(name);
      if (kind === 'hop' || kind === 'forwarded') continue;
      if (kind === 'xff') {
        forwardedFor = forwardedFor === undefined ? value : `${forwardedFor}, ${value}`;
        continue;
      }
      if (kind === 'authorization') name = 'Authorization';
      else if (kind === 'user-agent') name = 'User-Agent';
      add(headers, multiValueHeaders, name, value);
    }
    add(headers, multiValueHeaders, 'X-Forwarded-For', forwardedFor === undefined ? sourceIp : `${forwardedFor}, ${sourceIp}`);
    add(headers, multiValueHeaders, 'X-Forwarded-Port', String(req.socket.localPort ?? 80));
    add(headers, multiValueHeaders, 'X-Forwarded-Proto', 'http');

    let queryStringParameters: Headers | null = null;
    let multiValueQueryStringParameters: MultiHeaders | null = null;
    if (r.rawQuery !== undefined && r.rawQuery.length > 0) {
      const single: Headers = {};
      const multi: MultiHeaders = {};
      for (const [key, value] of new URLSearchParams(r.rawQuery)) {
        if (key !== '__proto__') add(single, multi, key, value);
      }
      queryStringParameters = single;
      multiValueQueryStringParameters = multi;
    }

    let body: string | null = null;
    let isBase64Encoded = false;
    if (r.body !== null && r.body.length > 0) {
      if (isTextContentType(req.headers['content-type'])) body = r.body.toString('utf8');
      else {
        body = r.body.toString('base64');
        isBase64Encoded = true;
      }
    }

    const { accountId, apiId, stage } = this.api;
    return {
      resource: r.resource,
      path: r.rawPath,
      httpMethod: r.method,
      headers,
      multiValueHeaders,
      queryStringParameters,
      multiValueQueryStringParameters,
      pathParameters: r.pathParameters,
      stageVariables: null,
      requestContext: {
        resourceId: r.resourceId,
        resourcePath: r.resource,
        httpMethod: r.method,
        extendedRequestId: r.requestId,
        requestTime: this.requestTime(r.receivedAt),
        path: `/${stage}${r.rawPath}`,
        accountId,
        protocol: `HTTP/${req.httpVersion}`,
        stage,
        domainPrefix: apiId,
        requestTimeEpoch: r.receivedAt,
        requestId: r.requestId,
        identity: {
          cognitoIdentityPoolId: null,
          accountId: null,
          cognitoIdentityId: null,
          caller: null,
          sourceIp,
          principalOrgId: null,
          accessKey: null,
          cognitoAuthenticationType: null,
          cognitoAuthenticationProvider: null,
          userArn: null,
          userAgent: req.headers['user-agent'] ?? null,
          user: null,
          apiKey: null,
          apiKeyId: null,
          clientCert: null,
        },
        domainName: req.headers.host ?? `${apiId}.execute-api.local`,
        apiId,
        authorizer: r.authorizer,
      },
      body,
      isBase64Encoded,
    };
  }

  private requestTime(ms: number): string {
    const second = Math.floor(ms / 1000);
    if (second !== this.timeSecond) {
      this.timeSecond = second;
      this.timeText = formatRequestTime(ms);
    }
    return this.timeText;
  }
}

/** The peer address, without the IPv4-mapped IPv6 prefix. */
export function clientAddress(req: IncomingMessage): string {
  const address = req.socket.remoteAddress;
  if (address === undefined) return '0.0.0.0';
  return address.startsWith('::ffff:') ? address.slice(7) : address;
}
