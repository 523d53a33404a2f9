/**
 * The tokengate client: log in, call protected APIs with a Bearer token that it keeps fresh, log out.
 *
 * Runs in Node 20 and browsers with nothing but the global `fetch` (or one you inject). It starts no timers:
 * tokens are refreshed lazily, when a call needs one, so a Node process can always exit.
 *
 * Refresh is single-flight. The server rotates refresh tokens and treats a second use of a spent one as theft
 * (it revokes the whole session), so however many calls find the access token stale at once, they all wait on
 * ONE refresh request.
 */
import {
  InvalidCredentialsError,
  SessionEndedError,
  TokengateHttpError,
  TooManyAttemptsError,
  UntrustedUrlError,
  type SessionEndReason,
  type TokengateClientError,
} from './errors.js';
import {
  abortable,
  discardBody,
  errorCodeOf,
  isAbsoluteUrl,
  isReplayableBody,
  joinUrl,
  normalizeBaseUrl,
  parseRetryAfter,
  parseTokenResponse,
  readJson,
  withJsonContentType,
} from './http.js';
import { isStoredTokens, MemoryTokenStorage, type StoredTokens, type TokenStorage } from './token-storage.js';

/** The header that asks for cookie delivery of the refresh token; the server also checks it as a CSRF guard. */
const TOKEN_DELIVERY_HEADER = 'X-Token-Delivery';

export interface TokengateClientOptions {
  /** Where the API lives, including any stage path (`https://abc.execute-api.eu-west-1.amazonaws.com/prod`). */
  baseUrl: string;
  /** @default globalThis.fetch */
  fetch?: typeof fetch;
  /** @default new MemoryTokenStorage() */
  storage?: TokenStorage;
  /**
   * Refresh this many seconds before the access token expires. Capped at half the token's lifetime, so a
   * short-lived token is not refreshed on every call.
   * @default 30
   */
  refreshSkewSeconds?: number;
  /** Milliseconds since the epoch. Inject a fake clock in tests. @default Date.now */
  now?: () => number;
  /**
   * Browser mode: the refresh token travels only in an HttpOnly cookie that script cannot read. Sends
   * `X-Token-Delivery: cookie` and `credentials: "include"` on every /auth call. Needs a fetch with a cookie jar
   * (every browser has one; Node's global fetch does not).
   * @default false
   */
  cookieMode?: boolean;
  /**
   * Called once when a session the client held ends: the server refused the refresh (`refresh_rejected`), the
   * token ran out with no way to renew it (`expired`), or `logout()` was called (`logout`). Exceptions thrown by
   * the callback are ignored.
   */
  onSessionEnd?: (reason: SessionEndReason) => void;
}

/** What `login` returns. The refresh token stays inside the client. */
export interface TokenSet {
  readonly accessToken: string;
  readonly tokenType: 'Bearer';
  /** Lifetime in seconds, as the server stated it. */
  readonly expiresIn: number;
  /** Expiry in milliseconds by the client's clock. */
  readonly expiresAt: number;
}

export interface LogoutOptions {
  /** Revoke every session of the user (all devices), not just this one. */
  all?: boolean;
}

export interface LogoutResult {
  /** The server answered 2xx. When false the local session is gone anyway, but the server may still honour it. */
  readonly serverAcknowledged: boolean;
}

type FetchFn = (input: string, init: RequestInit) => Promise<Response>;

export class TokengateClient {
  private readonly base: URL;
  private readonly fetchFn: FetchFn;
  private readonly storage: TokenStorage;
  private readonly skewMs: number;
  private readonly now: () => number;
  private readonly cookieMode: boolean;
  private readonly onSessionEnd: ((reason: SessionEndReason) => void) | undefined;

  /** The one refresh in flight, shared by every caller that needs it. */
  private refreshing: Promise<StoredTokens> | undefined;
  /**
   * Bumped whenever the session is replaced or ended (login, logout, session end). A refresh that started under
   * an older generation must not write its result back: that would resurrect a session the user just left.
   */
  private generation = 0;
  /** The last tokens read from or written to storage, for the synchronous `isLoggedIn`. */
  private known: StoredTokens | undefined;

  constructor(options: TokengateClientOptions) {
    this.base = normalizeBaseUrl(options.baseUrl);
    const f = options.fetch ?? globalThis.fetch;
    if (typeof f !== 'function') throw new TypeError('TokengateClient: no fetch available; pass options.fetch');
    // Called without a receiver: browsers throw "Illegal invocation" when window.fetch runs with `this` = client.
    this.fetchFn = (input, init) => f(input, init);
    this.storage = options.storage ?? new MemoryTokenStorage();
    const skew = options.refreshSkewSeconds ?? 30;
    if (!Number.isFinite(skew) || skew < 0) {
      throw new TypeError('TokengateClient: refreshSkewSeconds must be a non-negative number');
    }
    this.skewMs = skew * 1000;
    this.now = options.now ?? (() => Date.now());
    this.cookieMode = options.cookieMode ?? false;
    this.onSessionEnd = options.onSessionEnd;
  }

  /**
   * Whether the client holds a usable session. Reads a synchronous storage directly; with an asynchronous one
   * it reflects the tokens the client last read or wrote. In cookie mode after a page reload this is false until
   * `accessToken()` or `fetch()` has restored the session from the cookie.
   */
  get isLoggedIn(): boolean {
    let value: ReturnType<TokenStorage['get']>;
    try {
      value = this.storage.get();
    } catch {
      return this.usable(this.known);
    }
    if (isThenable(value)) {
      // Asynchronous storage: answer from what we know; never leave a rejection unhandled.
      value.then(undefined, () => undefined);
      return this.usable(this.known);
    }
    this.known = isStoredTokens(value) ? value : undefined;
    return this.usable(this.known);
  }

  /**
   * Logs in and stores the session (replacing any previous one; call `logout()` first to revoke that).
   * @throws InvalidCredentialsError on 401, TooManyAttemptsError on 429, TokengateHttpError otherwise.
   */
  async login(username: string, password: string): Promise<TokenSet> {
    const res = await this.authRequest('/auth/login', { username, password });
    if (!res.ok) throw await this.errorFrom(res, true);
    const tokens = parseTokenResponse(res.status, await readJson(res), this.now(), this.cookieMode);
    // A refresh of the previous session could otherwise land after us and overwrite the new tokens.
    await this.refreshing?.catch(() => undefined);
    this.generation++;
    await this.writeTokens(tokens);
    return toTokenSet(tokens);
  }

  /**
   * A valid access token, refreshed first if it is within `refreshSkewSeconds` of expiry. For headers the client
   * does not send itself (WebSocket subprotocols, SSE polyfills, another HTTP library).
   * @throws SessionEndedError when there is no session (or it just ended); TokengateHttpError or a network error
   *   when a needed refresh failed for another reason.
   */
  async accessToken(): Promise<string> {
    return (await this.validTokens(undefined)).accessToken;
  }

  /**
   * `fetch` with `Authorization: Bearer <access token>`. Relative paths are appended to `baseUrl` (keeping its
   * stage path); absolute URLs must be on the origin of `baseUrl`, or it throws UntrustedUrlError.
   *
   * - Refreshes first when the token is within `refreshSkewSeconds` of expiry.
   * - On a 401 it refreshes once and retries once. A 403 is returned as is (a refresh would not add permissions).
   * - A ReadableStream body cannot be sent twice: after a 401 the session is still refreshed, but the 401 is
   *   returned for the caller to retry with a new stream. Other body types are retried.
   * - If that refresh is refused, the session is cleared, `onSessionEnd` is called, and the original 401 Response
   *   is returned. If there is no session before the request would be sent, it throws SessionEndedError instead
   *   (there is no response to return).
   * - A refresh that fails for another reason (network, 5xx) throws; the session is kept.
   */
  async fetch(input: string | URL, init: RequestInit = {}): Promise<Response> {
    const url = this.resolve(input);
    const tokens = await this.validTokens(init.signal);
    const first = await this.send(url, init, tokens.accessToken);
    if (first.status !== 401) return first;

    let fresh: StoredTokens;
    try {
      fresh = await abortable(this.refreshAfterRejection(tokens.accessToken), init.signal);
    } catch (e) {
      if (e instanceof SessionEndedError) return first;
      await discardBody(first);
      throw e;
    }
    if (!isReplayableBody(init.body)) return first;
    await discardBody(first);
    return this.send(url, init, fresh.accessToken);
  }

  /**
   * Ends the session: clears local state first, then tells the server (best effort; a network failure or an
   * error status is reported in the result, never thrown). With `all`, every session of the user is revoked.
   */
  async logout(options: LogoutOptions = {}): Promise<LogoutResult> {
    // Let a rotation in flight finish, so the server gets the refresh token that is current, not a spent one.
    await this.refreshing?.catch(() => undefined);
    const tokens = await this.readTokens();
    // Without tokens there is nothing to revoke, except in cookie mode where the cookie may outlive our memory.
    if (!tokens && !this.cookieMode) return { serverAcknowledged: false };

    this.generation++;
    this.known = undefined;
    await this.storage.clear();

    // The refresh token goes along even with `all`: it still identifies the user when the access token has expired.
    const body: Record<string, unknown> = {};
    if (!this.cookieMode && tokens?.refreshToken) body.refresh_token = tokens.refreshToken;
    if (options.all) body.all = true;

    let serverAcknowledged = false;
    try {
      const res = await this.authRequest('/auth/logout', body, tokens?.accessToken);
      serverAcknowledged = res.ok;
      await discardBody(res);
    } catch {
      // Best effort by design: the local session is already gone.
    }
    if (tokens) this.notify('logout');
    return { serverAcknowledged };
  }

  // ---- internals ----

  /** Tokens good enough to send, refreshing (or restoring from the cookie) first when needed. */
  private async validTokens(signal: AbortSignal | null | undefined): Promise<StoredTokens> {
    if (this.refreshing) return abortable(this.refreshing, signal);
    const tokens = await this.readTokens();
    if (!tokens) {
      // Cookie mode after a reload: the HttpOnly cookie may still hold a session.
      if (this.cookieMode) return abortable(this.refresh(undefined), signal);
      throw new SessionEndedError('no_session');
    }
    if (!this.needsRefresh(tokens, this.now())) return tokens;
    if (!this.canRefresh(tokens)) {
      if (this.now() < tokens.expiresAt) return tokens;
      await this.endSession('expired');
      throw new SessionEndedError('expired');
    }
    try {
      return await abortable(this.refresh(tokens.accessToken), signal);
    } catch (e) {
      // A transient failure of an early refresh: the current token is still valid for a while, use it.
      if (!(e instanceof SessionEndedError) && !signal?.aborted && this.now() < tokens.expiresAt) return tokens;
      throw e;
    }
  }

  /** The API refused `rejected`: get a different token, refreshing unless someone already did. */
  private async refreshAfterRejection(rejected: string): Promise<StoredTokens> {
    if (this.refreshing) return this.refreshing;
    const tokens = await this.readTokens();
    if (!tokens) throw new SessionEndedError('no_session');
    if (!this.canRefresh(tokens)) {
      if (tokens.accessToken !== rejected) return tokens;
      await this.endSession('expired');
      throw new SessionEndedError('expired');
    }
    return this.refresh(rejected);
  }

  /** Single flight: joins the refresh in progress or starts one. `seen` is the access token the caller found stale. */
  private refresh(seen: string | undefined): Promise<StoredTokens> {
    this.refreshing ??= this.doRefresh(seen).finally(() => {
      this.refreshing = undefined;
    });
    return this.refreshing;
  }

  private async doRefresh(seen: string | undefined): Promise<StoredTokens> {
    const generation = this.generation;
    const current = await this.readTokens();
    // Someone else (another client on the same storage, a login) already put a fresh token there.
    if (current && current.accessToken !== seen && !this.needsRefresh(current, this.now())) return current;
    // The session was cleared between the caller's read and ours: do not restore it from a cookie.
    if (!current && seen !== undefined) throw new SessionEndedError('no_session');

    let body: Record<string, string> = {};
    if (!this.cookieMode) {
      if (!current?.refreshToken) throw new SessionEndedError('no_session');
      body = { refresh_token: current.refreshToken };
    }
    const res = await this.authRequest('/auth/refresh', body);

    if (res.ok) {
      const tokens = parseTokenResponse(res.status, await readJson(res), this.now(), this.cookieMode);
      if (generation !== this.generation) {
        // Logged out or in again meanwhile: drop this result rather than resurrect the old session.
        const latest = await this.readTokens();
        if (latest) return latest;
        throw new SessionEndedError('no_session');
      }
      await this.writeTokens(tokens);
      return tokens;
    }
    if (res.status === 400 || res.status === 401) {
      // invalid_grant: expired, revoked, or reused refresh token. The session is over; retrying cannot help.
      await discardBody(res);
      if (current && generation === this.generation) {
        await this.endSession('refresh_rejected');
        throw new SessionEndedError('refresh_rejected');
      }
      throw new SessionEndedError('no_session');
    }
    throw await this.errorFrom(res, false);
  }

  private needsRefresh(tokens: StoredTokens, now: number): boolean {
    const lifetime = Math.max(0, tokens.expiresAt - tokens.receivedAt);
    const skew = Math.min(this.skewMs, lifetime / 2);
    return now >= tokens.expiresAt - skew;
  }

  private canRefresh(tokens: StoredTokens): boolean {
    return this.cookieMode || tokens.refreshToken !== undefined;
  }

  private usable(tokens: StoredTokens | undefined): boolean {
    return tokens !== undefined && (this.canRefresh(tokens) || this.now() < tokens.expiresAt);
  }

  private async endSession(reason: SessionEndReason): Promise<void> {
    this.generation++;
    this.known = undefined;
    await this.storage.clear();
    this.notify(reason);
  }

  private notify(reason: SessionEndReason): void {
    try {
      this.onSessionEnd?.(reason);
    } catch {
      // A failing callback must not turn a handled session end into a failed request.
    }
  }

  private async readTokens(): Promise<StoredTokens | undefined> {
    const value = await this.storage.get();
    this.known = isStoredTokens(value) ? value : undefined;
    return this.known;
  }

  private async writeTokens(tokens: StoredTokens): Promise<void> {
    this.known = tokens;
    await this.storage.set(tokens);
  }

  private resolve(input: string | URL): string {
    if (typeof input === 'string' && !isAbsoluteUrl(input)) return joinUrl(this.base, input);
    const url = new URL(input.toString(), this.base);
    // The token is a credential for this API only; never hand it to another origin.
    if (url.origin !== this.base.origin) throw new UntrustedUrlError(url.origin);
    return url.href;
  }

  private send(url: string, init: RequestInit, accessToken: string): Promise<Response> {
    const headers = withJsonContentType(new Headers(init.headers), init.body);
    headers.set('Authorization', `Bearer ${accessToken}`);
    return this.fetchFn(url, { ...init, headers });
  }

  private authRequest(path: string, body: Record<string, unknown>, bearer?: string): Promise<Response> {
    const headers = new Headers({ 'Content-Type': 'application/json', Accept: 'application/json' });
    if (bearer) headers.set('Authorization', `Bearer ${bearer}`);
    // A redirect would re-send the password or refresh token to wherever it points.
    const init: RequestInit = { method: 'POST', headers, body: JSON.stringify(body), redirect: 'error' };
    if (this.cookieMode) {
      headers.set(TOKEN_DELIVERY_HEADER, 'cookie');
      init.credentials = 'include';
    }
    return this.fetchFn(joinUrl(this.base, path), init);
  }

  private async errorFrom(res: Response, isLogin: boolean): Promise<TokengateClientError> {
    const retryAfter = res.headers.get('Retry-After');
    const code = errorCodeOf(await readJson(res));
    if (res.status === 429) return new TooManyAttemptsError(parseRetryAfter(retryAfter, this.now()));
    if (isLogin && res.status === 401) return new InvalidCredentialsError(code);
    return new TokengateHttpError(res.status, code);
  }
}

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return typeof value === 'object' && value !== null && typeof (value as { then?: unknown }).then === 'function';
}

function toTokenSet(tokens: StoredTokens): TokenSet {
  return {
    accessToken: tokens.accessToken,
    tokenType: 'Bearer',
    expiresIn: Math.round((tokens.expiresAt - tokens.receivedAt) / 1000),
    expiresAt: tokens.expiresAt,
  };
}
