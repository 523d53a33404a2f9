/**
 * Where the client keeps its tokens. The default keeps them in memory only, which is what a browser app should
 * use: persisting a refresh token in `localStorage`/`sessionStorage` hands it to any script that runs on the page
 * (one XSS is a stolen 30-day session). Browsers should use cookie mode instead, where the refresh token lives in
 * an HttpOnly cookie and never reaches JavaScript.
 */

/** What the client stores. Times are milliseconds by the client's clock (`now` option). */
export interface StoredTokens {
  readonly accessToken: string;
  /** When the access token expires: receipt time + `expires_in`. */
  readonly expiresAt: number;
  /** When the access token was received; with `expiresAt` it gives the token's lifetime. */
  readonly receivedAt: number;
  /** Absent in cookie mode (the browser holds it in an HttpOnly cookie). */
  readonly refreshToken?: string;
}

export type MaybePromise<T> = T | Promise<T>;

/** Synchronous or asynchronous storage for one token set. */
export interface TokenStorage {
  get(): MaybePromise<StoredTokens | undefined>;
  set(tokens: StoredTokens): MaybePromise<void>;
  clear(): MaybePromise<void>;
}

/** The default: tokens live as long as the client object, and are gone on reload or process exit. */
export class MemoryTokenStorage implements TokenStorage {
  private tokens: StoredTokens | undefined;

  get(): StoredTokens | undefined {
    return this.tokens;
  }

  set(tokens: StoredTokens): void {
    this.tokens = tokens;
  }

  clear(): void {
    this.tokens = undefined;
  }
}

/**
 * Checks what a (possibly custom, possibly JSON-backed) storage handed back. Anything malformed counts as
 * "no tokens" rather than being sent to the server.
 */
export function isStoredTokens(value: unknown): value is StoredTokens {
  if (typeof value !== 'object' || value === null) return false;
  const v = value as Record<string, unknown>;
  return (
    typeof v.accessToken === 'string' &&
    v.accessToken.length > 0 &&
    typeof v.expiresAt === 'number' &&
    Number.isFinite(v.expiresAt) &&
    typeof v.receivedAt === 'number' &&
    Number.isFinite(v.receivedAt) &&
    (v.refreshToken === undefined || (typeof v.refreshToken === 'string' && v.refreshToken.length > 0))
  );
}
