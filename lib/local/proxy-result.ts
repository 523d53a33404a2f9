/**
 * Turns what a proxy-integration function returned into the HTTP response, or rejects it the way API Gateway
 * does ("Malformed Lambda proxy response" → 502).
 *
 * The result first goes through JSON, as it does across the Lambda boundary (undefined members vanish, a
 * Buffer body becomes an object and is rejected). A payload over Lambda's 6 MB response limit fails too.
 * Valid: an object with only `statusCode` (integer or numeric string, default 200), `headers` (values string,
 * number or boolean), `multiValueHeaders` (arrays of those), `body` (string or null) and `isBase64Encoded`.
 * Headers and multiValueHeaders are merged; for a name present in both, multiValueHeaders wins. The body is
 * base64-decoded when isBase64Encoded is true. `Content-Type` defaults to application/json; hop-by-hop
 * headers from the function are dropped (the gateway sets its own Content-Length).
 */

export interface IntegrationResponse {
  readonly statusCode: number;
  /** Flat [name, value, name, value, …], repeated names kept (several Set-Cookie). */
  readonly headers: string[];
  readonly body: Buffer;
}

const ALLOWED_KEYS = new Set(['statusCode', 'headers', 'multiValueHeaders', 'body', 'isBase64Encoded']);
const DROPPED_HEADERS = new Set(['content-length', 'transfer-encoding', 'connection', 'keep-alive']);
/** Lambda's synchronous invocation response limit. */
export const MAX_RESULT_BYTES = 6 * 1024 * 1024;

const isRecord = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

const headerValue = (v: unknown): string | undefined =>
  typeof v === 'string' ? v : typeof v === 'number' || typeof v === 'boolean' ? String(v) : undefined;

function statusOf(value: unknown): number | undefined {
  if (value === undefined || value === null) return 200;
  const n = typeof value === 'number' ? value : typeof value === 'string' && /^\d{3}$/.test(value) ? Number(value) : NaN;
  // 1xx cannot be a final response.
  return Number.isInteger(n) && n >= 200 && n <= 599 ? n : undefined;
}

function throughJson(result: unknown): unknown {
  let text: string | undefined;
  try {
    text = JSON.stringify(result);
  } catch {
    return undefined;
  }
  if (text === undefined) return undefined;
  if (text.length > MAX_RESULT_BYTES / 3 && Buffer.byteLength(text) > MAX_RESULT_BYTES) return undefined;
  return JSON.parse(text) as unknown;
}

/** The response to send, or undefined if the result is malformed (502). */
export function mapProxyResult(result: unknown): IntegrationResponse | undefined {
  const r = throughJson(result);
  if (!isRecord(r)) return undefined;
  for (const key of Object.keys(r)) if (!ALLOWED_KEYS.has(key)) return undefined;

  const statusCode = statusOf(r.statusCode);
  if (statusCode === undefined) return undefined;

  // lower-case name → [name as given, values]
  const merged = new Map<string, [string, string[]]>();
  if (r.headers !== undefined && r.headers !== null) {
    if (!isRecord(r.headers)) return undefined;
    for (const [name, raw] of Object.entries(r.headers)) {
      const value = headerValue(raw);
      if (value === undefined) return undefined;
      merged.set(name.toLowerCase(), [name, [value]]);
    }
  }
  if (r.multiValueHeaders !== undefined && r.multiValueHeaders !== null) {
    if (!isRecord(r.multiValueHeaders)) return undefined;
    for (const [name, raw] of Object.entries(r.multiValueHeaders)) {
      const list = Array.isArray(raw) ? raw : [raw];
      const values: string[] = [];
      for (const item of list) {
        const value = headerValue(item);
        if (value === undefined) return undefined;
        values.push(value);
      }
      merged.set(name.toLowerCase(), [name, values]);
    }
  }

  let body: Buffer;
  if (r.body === undefined || r.body === null) body = Buffer.alloc(0);
  else if (typeof r.body === 'string') {
    if (r.isBase64Encoded !== undefined && r.isBase64Encoded !== null && typeof r.isBase64Encoded !== 'boolean') {
      return undefined;
    }
    body = r.isBase64Encoded === true ? Buffer.from(r.body, 'base64') : Buffer.from(r.body, 'utf8');
  } else return undefined;

  const headers: string[] = [];
  let hasContentType = false;
  for (const [lower, [name, values]] of merged) {
    if (DROPPED_HEADERS.has(lower)) continue;
    if (lower === 'content-type') hasContentType = true;
    for (const value of values) headers.push(name, value);
  }
  if (!hasContentType) headers.push('Content-Type', 'application/json');
  return { statusCode, headers, body };
}
