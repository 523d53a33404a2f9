/**
 * Error hierarchy with stable codes (callers and tests switch on `code` or the class, never on text).
 * Handlers map these to HTTP responses; anything that is not a TokengateError is a 500 (or, in the
 * authorizer, a failed authorization that is never cached).
 */
export abstract class TokengateError extends Error {
  abstract readonly code: string;
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** The client sent something we cannot accept (RFC 6749 `invalid_request`). HTTP 400. */
export class InvalidRequestError extends TokengateError {
  readonly code = 'invalid_request';
}

/** The body is larger than we accept. HTTP 413. */
export class PayloadTooLargeError extends TokengateError {
  readonly code = 'invalid_request';
}

/** Wrong credentials, or a refresh token that is unknown, expired, spent or revoked (RFC 6749 `invalid_grant`). HTTP 401. */
export class InvalidGrantError extends TokengateError {
  readonly code = 'invalid_grant';
}

/** Too many failed attempts; `retryAfterSeconds` goes into `Retry-After`. HTTP 429. */
export class TooManyAttemptsError extends TokengateError {
  readonly code = 'too_many_attempts';
  constructor(readonly retryAfterSeconds: number) {
    super(`too many failed attempts; retry after ${retryAfterSeconds}s`);
  }
}

/** Why an access token was refused. Stable strings, safe to log (they never contain the token). */
export type TokenRejection =
  | 'malformed'
  | 'bad_header'
  | 'bad_signature'
  | 'unknown_kid'
  | 'expired'
  | 'not_yet_valid'
  | 'bad_issuer'
  | 'bad_audience'
  | 'bad_claims'
  | 'revoked';

/** The access token is not acceptable. The authorizer answers 401. */
export class InvalidTokenError extends TokengateError {
  readonly code = 'invalid_token';
  constructor(
    readonly reason: TokenRejection,
    options?: { cause?: unknown },
  ) {
    super(`access token rejected: ${reason}`, options);
  }
}

/**
 * An access token would be longer than verifiers accept (MAX_ACCESS_TOKEN_LENGTH): the user's permission set is
 * too large. A server-side configuration problem (the admin CLI refuses such sets), never the client's fault.
 */
export class TokenTooLargeError extends TokengateError {
  readonly code = 'token_too_large';
}

/** A record we tried to create exists already. */
export class AlreadyExistsError extends TokengateError {
  readonly code = 'already_exists';
}

/** A record we tried to change does not exist. */
export class NotFoundError extends TokengateError {
  readonly code = 'not_found';
}

/** A dependency (store, KMS) did not answer. We fail closed: HTTP 503, and the authorizer denies uncached. */
export class DependencyUnavailableError extends TokengateError {
  readonly code = 'temporarily_unavailable';
}

/** Configuration is missing or invalid: thrown at cold start, never at request time. */
export class ConfigError extends TokengateError {
  readonly code = 'config_error';
}
