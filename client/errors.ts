/**
 * Errors the client throws. Callers switch on the class or on `code` (stable strings), never on the message.
 * No error ever carries a token: messages and properties hold status codes and error codes only.
 */

export type ClientErrorCode =
  | 'http_error'
  | 'invalid_credentials'
  | 'too_many_attempts'
  | 'session_ended'
  | 'unexpected_response'
  | 'untrusted_url';

/** Base class of every error this library throws itself (network failures and aborts from `fetch` pass through). */
export abstract class TokengateClientError extends Error {
  abstract readonly code: ClientErrorCode;
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}

/**
 * An auth endpoint (`/auth/login`, `/auth/refresh`) answered with an error status the client has no better
 * class for. `error` is the server's OAuth-style code from the body (`invalid_request`, …) when it sent one.
 */
export class TokengateHttpError extends TokengateClientError {
  readonly code: ClientErrorCode = 'http_error';
  constructor(
    readonly status: number,
    readonly error: string | undefined,
    message = `tokengate request failed with HTTP ${status}${error ? ` (${error})` : ''}`,
  ) {
    super(message);
  }
}

/** Login refused: wrong username or password (HTTP 401 `invalid_grant`). */
export class InvalidCredentialsError extends TokengateHttpError {
  override readonly code = 'invalid_credentials';
  constructor(error: string | undefined = 'invalid_grant') {
    super(401, error, 'invalid username or password');
  }
}

/**
 * Too many failed logins (HTTP 429). `retryAfterSeconds` comes from `Retry-After`; it is `undefined` when the
 * server sent none or a browser hid it (cross-origin, the server must list it in `Access-Control-Expose-Headers`).
 */
export class TooManyAttemptsError extends TokengateHttpError {
  override readonly code = 'too_many_attempts';
  constructor(readonly retryAfterSeconds: number | undefined) {
    super(
      429,
      undefined,
      retryAfterSeconds === undefined
        ? 'too many attempts; retry later'
        : `too many attempts; retry after ${retryAfterSeconds}s`,
    );
  }
}

/** Why a session ended, as passed to `onSessionEnd`. */
export type SessionEndReason =
  /** The server refused the refresh token (expired, revoked, logged out elsewhere, or reused). */
  | 'refresh_rejected'
  /** The access token expired and there is no refresh token to renew it with. */
  | 'expired'
  /** `logout()` was called. */
  | 'logout';

/**
 * There is no session to authenticate with. `reason` is `no_session` when the client held none (never logged in,
 * logged out, or ended earlier), otherwise why the session ended just now.
 */
export class SessionEndedError extends TokengateClientError {
  readonly code = 'session_ended';
  constructor(readonly reason: SessionEndReason | 'no_session') {
    super(reason === 'no_session' ? 'not logged in' : `session ended: ${reason}`);
  }
}

/** A 2xx answer from an auth endpoint whose body is not a valid token response. */
export class UnexpectedResponseError extends TokengateClientError {
  readonly code = 'unexpected_response';
  constructor(
    readonly status: number,
    detail: string,
  ) {
    super(`unexpected response from tokengate (HTTP ${status}): ${detail}`);
  }
}

/** `client.fetch` was given an absolute URL on another origin than `baseUrl`; the token is never sent there. */
export class UntrustedUrlError extends TokengateClientError {
  readonly code = 'untrusted_url';
  constructor(readonly origin: string) {
    super(`refusing to send the access token to ${origin}: not the origin of baseUrl`);
  }
}
