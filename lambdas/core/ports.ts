/**
 * The seams between the domain and the outside world. Domain code depends only on these interfaces;
 * `lambdas/adapters/` implements them for DynamoDB and KMS (cloud) and for local files (npm start).
 * Nothing here imports the AWS SDK.
 */

/** A public signing key as published in the JWKS (RFC 7517), P-256 only. */
export interface PublicJwk {
  kty: 'EC';
  crv: 'P-256';
  x: string;
  y: string;
  /** RFC 7638 thumbprint of the key. */
  kid: string;
  alg: 'ES256';
  use: 'sig';
}

export interface Jwks {
  keys: PublicJwk[];
}

/**
 * Signs JWTs with the active key. Implementations: KMS (ECC_NIST_P256) and a local PKCS#8 key file.
 * Several keys may be published at once (rotation); new tokens always use the active one.
 */
export interface Signer {
  /**
   * Returns a compact JWS over `claims`. The header is `{alg:"ES256", typ, kid}` where `kid` is the active
   * key's thumbprint; the implementation fills in `alg` and `kid`.
   */
  sign(header: { typ: string }, claims: Record<string, unknown>): Promise<string>;
  /** Public keys, active key first. Never contains private material. */
  publicJwks(): Promise<Jwks>;
}

export type UserStatus = 'active' | 'disabled';

export interface UserRecord {
  username: string;
  /** PHC string, e.g. `$scrypt$ln=17,r=8,p=1$<salt>$<hash>`. */
  passwordHash: string;
  permissions: string[];
  status: UserStatus;
  /** ms since epoch. */
  createdAt: number;
  /**
   * Sessions created at or before this instant (ms) are dead (at, not only before: a session created in the
   * same millisecond as "log out everywhere" must not survive it): "log out everywhere" and "disable" move it to now.
   * Access tokens carry their session id, so this reaches access tokens through their session.
   */
  sessionsValidAfter: number;
}

export interface UserStore {
  get(username: string): Promise<UserRecord | undefined>;
  /** Creates the user; AlreadyExistsError if the name is taken. */
  create(user: UserRecord): Promise<void>;
  /** NotFoundError if absent. */
  setPermissions(username: string, permissions: string[]): Promise<void>;
  /** NotFoundError if absent. Disabling also moves `sessionsValidAfter` to `at` (all sessions end). */
  setStatus(username: string, status: UserStatus, at: number): Promise<void>;
  /** Moves `sessionsValidAfter` to `at`: every existing session of the user is revoked. */
  revokeAllSessions(username: string, at: number): Promise<void>;
  /** Replaces the hash (used to upgrade parameters on a successful login). */
  setPasswordHash(username: string, passwordHash: string): Promise<void>;
  /** Admin use only (CLI); Lambdas never list. */
  list(): Promise<UserRecord[]>;
}

/**
 * One login-throttle counter in one fixed window: the attempts that hold one of its slots, and which of them
 * failed. A counter is named by the domain (`pair#<address>#<name>`, `user#<name>`, `addr#<address>`); the
 * window is an integer (time / window length), so a new window is simply a new, empty counter.
 */
export interface ThrottleCounter {
  /** Attempt ids holding a slot: failures (kept for the window) and attempts still checking their password. */
  held: string[];
  /** The held attempts known to have failed. */
  failed: string[];
}

export interface ThrottleStore {
  /**
   * Takes one slot of the counter for `attemptId` if fewer than `limit` are held, in one conditional write.
   * Idempotent: an attempt that already holds a slot (a retried write whose answer was lost) keeps it and
   * gets `true` again. `false`: the counter is full. `expiresAt` (ms) is when the store may forget it.
   */
  reserve(counter: string, window: number, attemptId: string, limit: number, expiresAt: number): Promise<boolean>;
  /** Gives the attempt's slot back (its password was right, or it was never checked). Idempotent. */
  release(counter: string, window: number, attemptId: string): Promise<void>;
  /** Records that the attempt failed; it keeps its slot until the window ends. Idempotent. */
  markFailed(counter: string, window: number, attemptId: string): Promise<void>;
  /** The counter's state (empty when absent). */
  get(counter: string, window: number): Promise<ThrottleCounter>;
}

export interface SessionRecord {
  sid: string;
  username: string;
  /** ms */
  createdAt: number;
  /** ms; absolute end of the session (REFRESH_TOKEN_TTL_SECONDS after login). */
  expiresAt: number;
  /** ms; set once the session is revoked (logout, reuse detected). */
  revokedAt?: number;
  /** Increments with every rotation; the refresh token of generation N is the only live one. */
  generation: number;
  /** SHA-256 (base64url) of the live refresh token. */
  refreshHash: string;
}

export interface RefreshTokenRecord {
  /** SHA-256 (base64url) of the token: the raw token is never stored. */
  hash: string;
  sid: string;
  generation: number;
  /** ms */
  expiresAt: number;
  /** ms; set when the token is exchanged. A second use means theft or a replay. */
  usedAt?: number;
}

/**
 * Every write here is safe to retry: a repeat of a write that was applied (its answer lost) is recognised as
 * the caller's own and reported as success, never as a conflict.
 */
export interface SessionStore {
  /**
   * Writes the session and its first refresh token. Both writes are conditional on the keys being new;
   * AlreadyExistsError if a key holds anything but exactly this write.
   */
  create(session: SessionRecord, refresh: RefreshTokenRecord): Promise<void>;
  getSession(sid: string): Promise<SessionRecord | undefined>;
  getRefreshToken(hash: string): Promise<RefreshTokenRecord | undefined>;
  /**
   * Marks the token used if and only if it was unused (a conditional write). Returns `false` when another
   * caller got there first: exactly one of any number of concurrent exchanges wins. Each call claims under
   * its own random id, so a retried claim finds its own mark and still returns `true`.
   */
  claimRefreshToken(hash: string, at: number): Promise<boolean>;
  /**
   * Writes `next` and moves the session from generation `from` to `from + 1` with `next` as its live token,
   * if and only if the session is still at `from`, not revoked and not expired at `now` (ms). Returns `false`
   * otherwise: no tokens may be handed out for it. A session already at `from + 1` with `next` as its token is
   * this call's own earlier attempt: `true`.
   */
  rotate(sid: string, from: number, next: RefreshTokenRecord, now: number): Promise<boolean>;
  /** Sets `revokedAt` (idempotent: the first revocation time is kept). */
  revoke(sid: string, at: number): Promise<void>;
}

/** What the authorizer needs to know to accept a token's session: one store round trip. */
export interface SessionStatus {
  session?: Pick<SessionRecord, 'username' | 'createdAt' | 'expiresAt' | 'revokedAt'>;
  user?: Pick<UserRecord, 'status' | 'sessionsValidAfter'>;
}

export interface SessionStatusSource {
  /** Fetches the session and its user in one round trip. Throws DependencyUnavailableError if the store is down. */
  lookup(sid: string, username: string): Promise<SessionStatus>;
}
