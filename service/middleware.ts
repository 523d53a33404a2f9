/**
 * Bearer-token authentication for a Node HTTP service that verifies tokens itself (no gateway in front): a
 * framework-neutral `(req, res, next)` middleware, usable with `node:http` (call it, do your work in `next`) and
 * with Express / Connect (`app.use(authenticate(...))`, or per route).
 *
 * Answers, as RFC 6750 §3 asks of a resource server:
 * - no bearer token → 401 `WWW-Authenticate: Bearer realm="tokengate"` (no error code: the client did not try);
 * - a token that is not valid (forged, expired, for another audience, …) → 401
 *   `WWW-Authenticate: Bearer realm="tokengate", error="invalid_token"`;
 * - a valid token without a required permission → 403 `WWW-Authenticate: Bearer realm="tokengate",
 *   error="insufficient_scope", scope="<permissions>"`, body `{"message":"Forbidden","error":"insufficient_scope",
 *   "required":"<first missing permission>"}`;
 * - the JWKS cannot be fetched → 503 `{"message":"Service Unavailable"}`, `Retry-After: 1` (fail closed).
 * 401 bodies are `{"message":"Unauthorized"}`, as the gateway's. Otherwise `req.caller` is set and `next()` runs.
 *
 * Nothing is logged here; the token never leaves the request.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { InvalidTokenError } from '../lambdas/core/errors.js';
import { type Caller, insufficientScopeBody } from './caller.js';
import { JwksUnavailableError, type TokenVerifier } from './verifier.js';

/** A request the middleware has authenticated. */
export interface AuthenticatedRequest extends IncomingMessage {
  caller: Caller;
}

export interface AuthenticateOptions {
  /** From createTokenVerifier(). */
  verifier: Pick<TokenVerifier, 'verifyCaller'>;
  /** Permission(s) every request must hold (all of them). */
  required?: string | readonly string[];
  /** The `realm` of the challenge. @default 'tokengate' */
  realm?: string;
  /** Told about failures other than a bad token (a JWKS that cannot be fetched, a verifier bug): for your log. */
  onError?: (err: unknown) => void;
}

export type Next = (err?: unknown) => void;
export type Middleware = (req: IncomingMessage, res: ServerResponse, next: Next) => void;

/** `Bearer <token>` (scheme case-insensitive) → the token; undefined for anything else. */
export function bearerTokenOf(req: Pick<IncomingMessage, 'headers'>): string | undefined {
  const h = req.headers.authorization;
  if (typeof h !== 'string') return undefined;
  const m = /^Bearer +([^ ]+) *$/i.exec(h);
  return m?.[1];
}

/** Quoted-string content for a challenge parameter (RFC 9110 §5.6.4). */
const quoted = (s: string): string => s.replace(/[\\"]/g, (c) => `\\${c}`);

function send(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  if (res.headersSent) {
    res.end();
    return;
  }
  res.writeHead(status, { 'Content-Type': 'application/json', 'Cache-Control': 'no-store', ...headers });
  res.end(`${JSON.stringify(body)}\n`);
}

export function authenticate(opts: AuthenticateOptions): Middleware {
  const required = typeof opts.required === 'string' ? [opts.required] : [...(opts.required ?? [])];
  const realm = `realm="${quoted(opts.realm ?? 'tokengate')}"`;
  const unauthorized = (res: ServerResponse, error?: string) =>
    send(res, 401, { message: 'Unauthorized' }, { 'WWW-Authenticate': `Bearer ${realm}${error ? `, error="${error}"` : ''}` });

  return (req, res, next) => {
    const token = bearerTokenOf(req);
    if (token === undefined) {
      unauthorized(res);
      return;
    }
    opts.verifier.verifyCaller(token).then(
      (caller) => {
        const missing = required.filter((p) => !caller.can(p));
        if (missing.length > 0) {
          send(res, 403, insufficientScopeBody(missing[0]!), {
            'WWW-Authenticate': `Bearer ${realm}, error="insufficient_scope", scope="${quoted(required.join(' '))}"`,
          });
          return;
        }
        (req as AuthenticatedRequest).caller = caller;
        next();
      },
      (err: unknown) => {
        if (err instanceof InvalidTokenError) {
          unauthorized(res, 'invalid_token');
          return;
        }
        opts.onError?.(err);
        if (err instanceof JwksUnavailableError) send(res, 503, { message: 'Service Unavailable' }, { 'Retry-After': '1' });
        else send(res, 500, { message: 'Internal Server Error' });
      },
    );
  };
}
