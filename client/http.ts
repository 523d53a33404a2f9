/**
 * Small pure helpers for the client: URL joining, response parsing, body replayability. No I/O beyond reading a
 * Response it is handed, no globals beyond what both Node 20 and browsers provide.
 */
import { UnexpectedResponseError } from './errors.js';
import type { StoredTokens } from './token-storage.js';

/**
 * `baseUrl` without trailing slashes. A relative base (`/api`) is resolved against the page in a browser;
 * elsewhere it must be absolute. Only http(s).
 */
export function normalizeBaseUrl(baseUrl: string): URL {
  let url: URL;
  try {
    url = typeof location !== 'undefined' ? new URL(baseUrl, location.href) : new URL(baseUrl);
  } catch {
    throw new TypeError('TokengateClient: baseUrl must be an absolute http(s) URL');
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') {
    throw new TypeError('TokengateClient: baseUrl must be an http(s) URL');
  }
  if (url.search || url.hash) throw new TypeError('TokengateClient: baseUrl must not have a query or fragment');
  url.pathname = url.pathname.replace(/\/+$/, '');
  return url;
}

/**
 * Appends a path to the base, keeping the base's own path (an API Gateway stage such as `/prod`), which
 * `new URL('/orders', base)` would drop.
 */
export function joinUrl(base: URL, path: string): string {
  const prefix = base.href.replace(/\/+$/, '');
  return `${prefix}${path.startsWith('/') ? path : `/${path}`}`;
}

/** True for `https://…`, `mailto:…`, `//host/…`: anything that names its own origin. */
export function isAbsoluteUrl(input: string): boolean {
  return /^[a-zA-Z][a-zA-Z\d+.-]*:/.test(input) || input.startsWith('//');
}

/**
 * Whether a request body can be sent a second time. Strings, URL-encoded and multipart forms, buffers and blobs
 * are re-read by `fetch` on every call; a ReadableStream (or anything unknown) is consumed by the first send.
 */
export function isReplayableBody(body: RequestInit['body']): boolean {
  if (body === undefined || body === null) return true;
  if (typeof body === 'string') return true;
  if (body instanceof URLSearchParams) return true;
  if (body instanceof ArrayBuffer || ArrayBuffer.isView(body)) return true;
  if (typeof Blob !== 'undefined' && body instanceof Blob) return true;
  if (typeof FormData !== 'undefined' && body instanceof FormData) return true;
  return false;
}

/**
 * Whether a request body is a JSON document sent as a string (`JSON.stringify({...})`). `fetch` labels every
 * string body `text/plain;charset=UTF-8`, which a JSON API refuses (tokengate's services answer 400), so the
 * client labels these `application/json` when the caller set no Content-Type.
 */
export function isJsonText(body: RequestInit['body']): body is string {
  if (typeof body !== 'string') return false;
  const first = body.trimStart()[0];
  if (first !== '{' && first !== '[') return false;
  try {
    JSON.parse(body);
    return true;
  } catch {
    return false;
  }
}

/** Request headers with `Content-Type: application/json` added for a JSON string body, if none is set. */
export function withJsonContentType(headers: Headers, body: RequestInit['body']): Headers {
  if (!headers.has('Content-Type') && isJsonText(body)) headers.set('Content-Type', 'application/json');
  return headers;
}

/** Reads a JSON body, or `undefined` when it is empty or not JSON. */
export async function readJson(res: Response): Promise<unknown> {
  try {
    const text = await res.text();
    return text ? (JSON.parse(text) as unknown) : undefined;
  } catch {
    return undefined;
  }
}

/** The `error` field of an OAuth-style error body, if it is a string. */
export function errorCodeOf(body: unknown): string | undefined {
  if (typeof body === 'object' && body !== null) {
    const error = (body as Record<string, unknown>).error;
    if (typeof error === 'string' && error.length > 0 && error.length <= 100) return error;
  }
  return undefined;
}

/** Frees a response we will not hand to the caller (keeps Node's connection pool healthy). */
export async function discardBody(res: Response): Promise<void> {
  try {
    await res.body?.cancel();
  } catch {
    // Nothing to do: the body is already gone or the stream is broken.
  }
}

/**
 * `Retry-After` as whole seconds: delta-seconds or an HTTP date (measured against the injected clock).
 * `undefined` when absent or unparseable.
 */
export function parseRetryAfter(value: string | null, nowMs: number): number | undefined {
  if (value === null) return undefined;
  const trimmed = value.trim();
  if (/^\d+$/.test(trimmed)) return Number.parseInt(trimmed, 10);
  const date = Date.parse(trimmed);
  if (Number.isNaN(date)) return undefined;
  return Math.max(0, Math.ceil((date - nowMs) / 1000));
}

/**
 * Turns a 200 from login or refresh into what we store. In cookie mode a `refresh_token` in the body is ignored
 * on purpose: the point of cookie mode is that script never holds one.
 */
export function parseTokenResponse(
  status: number,
  body: unknown,
  nowMs: number,
  cookieMode: boolean,
): StoredTokens {
  if (typeof body !== 'object' || body === null) throw new UnexpectedResponseError(status, 'body is not a JSON object');
  const b = body as Record<string, unknown>;
  if (typeof b.access_token !== 'string' || b.access_token.length === 0) {
    throw new UnexpectedResponseError(status, 'missing access_token');
  }
  if (typeof b.token_type !== 'string' || b.token_type.toLowerCase() !== 'bearer') {
    throw new UnexpectedResponseError(status, 'token_type is not Bearer');
  }
  if (typeof b.expires_in !== 'number' || !Number.isFinite(b.expires_in) || b.expires_in <= 0) {
    throw new UnexpectedResponseError(status, 'expires_in is not a positive number');
  }
  const tokens: { accessToken: string; expiresAt: number; receivedAt: number; refreshToken?: string } = {
    accessToken: b.access_token,
    receivedAt: nowMs,
    expiresAt: nowMs + b.expires_in * 1000,
  };
  if (!cookieMode) {
    if (typeof b.refresh_token !== 'string' || b.refresh_token.length === 0) {
      throw new UnexpectedResponseError(status, 'missing refresh_token');
    }
    tokens.refreshToken = b.refresh_token;
  }
  return tokens;
}

/**
 * Waits for a shared promise, but lets one waiter give up when its own signal aborts without cancelling the
 * shared work for the others.
 */
export function abortable<T>(promise: Promise<T>, signal: AbortSignal | null | undefined): Promise<T> {
  if (!signal) return promise;
  if (signal.aborted) return Promise.reject(signal.reason);
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => reject(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(
      (v) => {
        signal.removeEventListener('abort', onAbort);
        resolve(v);
      },
      (e: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(e);
      },
    );
  });
}
