/**
 * Propagation: service A calls service B AS THE USER, by forwarding the caller's own bearer token, so B decides
 * with the user's permissions (and the gateway's authorizer in front of B checks the token and its session
 * again). No service credentials, no token exchange.
 *
 * `forwardingFetch(from, { baseUrl })` returns a `fetch` that adds `Authorization: Bearer <the caller's token>`
 * to every request, and only to requests under `baseUrl`: a relative path is resolved under it, an absolute URL
 * elsewhere (another host, port or scheme, or a path outside the base, `..` included) is refused with
 * ForwardingRefusedError before anything is sent. The guard keeps a user's token from leaving for a URL that
 * came from input or data (token exfiltration). Redirects are not followed (`redirect: 'manual'`): a 3xx comes
 * back as the answer, so the token never follows one.
 *
 * Nothing here logs; the token is read from the incoming request and written only into the outgoing header.
 */
import type { APIGatewayProxyEvent } from 'aws-lambda';

/**
 * Where the caller's token comes from: a Lambda proxy event, a Node `IncomingMessage` (anything with
 * `headers`), or the `Authorization` header value / the token itself.
 */
export type AuthorizationSource =
  | string
  | Pick<APIGatewayProxyEvent, 'headers'>
  | { readonly headers?: Readonly<Record<string, string | readonly string[] | undefined>> | null };

/** A URL outside the configured base, or no token to forward: nothing was sent. */
export class ForwardingRefusedError extends Error {
  override readonly name = 'ForwardingRefusedError';
}

const BEARER = /^Bearer +([^ ]+) *$/i;
const TOKEN = /^[-0-9A-Za-z_.]+$/;

/** `Authorization: Bearer <token>` of `from` (header names case-insensitive), or undefined. */
export function bearerAuthorization(from: AuthorizationSource): string | undefined {
  let value: string | undefined;
  if (typeof from === 'string') {
    value = from;
  } else {
    const headers = (from.headers ?? {}) as Record<string, unknown>;
    for (const name of Object.keys(headers)) {
      if (name.toLowerCase() !== 'authorization') continue;
      const v = headers[name];
      value = typeof v === 'string' ? v : Array.isArray(v) && v.length === 1 && typeof v[0] === 'string' ? v[0] : undefined;
      break;
    }
  }
  if (value === undefined) return undefined;
  const token = BEARER.exec(value)?.[1] ?? (TOKEN.test(value) ? value : undefined);
  return token === undefined ? undefined : `Bearer ${token}`;
}

/**
 * `{ Authorization: 'Bearer <token>' }` for a client of your own. Prefer forwardingFetch: these headers come
 * without the guard, so send them only to your own services. ForwardingRefusedError if `from` has no token.
 */
export function forwardAuthorization(from: AuthorizationSource): { Authorization: string } {
  const authorization = bearerAuthorization(from);
  if (authorization === undefined) throw new ForwardingRefusedError('no bearer token to forward');
  return { Authorization: authorization };
}

export interface ForwardingOptions {
  /**
   * The only place the token may go: e.g. the API's URL (`process.env.API_URL`, with its stage path). Relative
   * paths are resolved under it.
   */
  baseUrl: string | URL;
  /** The fetch to use. @default globalThis.fetch */
  fetch?: typeof fetch;
}

export type ForwardingFetch = (input: string | URL, init?: RequestInit) => Promise<Response>;

/** The base as origin + path ending in '/', for the prefix check. */
function normalizedBase(baseUrl: string | URL): URL {
  const base = new URL(baseUrl);
  if (base.protocol !== 'https:' && base.protocol !== 'http:') throw new TypeError(`baseUrl must be http(s): ${base.protocol}`);
  if (base.username !== '' || base.password !== '') throw new TypeError('baseUrl must not carry credentials');
  base.search = '';
  base.hash = '';
  if (!base.pathname.endsWith('/')) base.pathname += '/';
  return base;
}

/** `input` as an absolute URL under `base`, or ForwardingRefusedError. */
export function resolveUnder(base: URL, input: string | URL): URL {
  let target: URL;
  if (typeof input === 'string' && input.startsWith('/') && !input.startsWith('//')) {
    // A path: under the base's path (a stage prefix such as /prod stays), then normalised (`..` resolved).
    target = new URL(base.pathname.replace(/\/$/, '') + input, base.origin);
  } else {
    try {
      target = new URL(input);
    } catch {
      throw new ForwardingRefusedError('not an absolute URL or a path starting with /');
    }
  }
  if (target.origin !== base.origin || target.username !== '' || target.password !== '' || !target.pathname.startsWith(base.pathname)) {
    throw new ForwardingRefusedError(`refusing to send the caller's token outside ${base.origin}${base.pathname}`);
  }
  return target;
}

/**
 * A fetch that sends the caller's token along, to URLs under `baseUrl` only (see the module comment).
 *
 *     const call = forwardingFetch(event, { baseUrl: process.env.API_URL! });
 *     const res = await call(`/inventory/${sku}/reservations`, { method: 'POST', body: JSON.stringify({ quantity }) });
 */
export function forwardingFetch(from: AuthorizationSource, opts: ForwardingOptions): ForwardingFetch {
  const authorization = bearerAuthorization(from);
  if (authorization === undefined) throw new ForwardingRefusedError('no bearer token to forward');
  const base = normalizedBase(opts.baseUrl);
  const doFetch = opts.fetch ?? globalThis.fetch;
  return (input, init = {}) => {
    let target: URL;
    try {
      target = resolveUnder(base, input);
    } catch (err) {
      return Promise.reject(err);
    }
    const headers = new Headers(init.headers);
    headers.set('authorization', authorization);
    if (init.body !== undefined && init.body !== null && typeof init.body === 'string' && !headers.has('content-type')) {
      headers.set('content-type', 'application/json');
    }
    return doFetch(target, { ...init, headers, redirect: 'manual' });
  };
}
