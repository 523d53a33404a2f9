/**
 * Sessions: login, refresh-token rotation with reuse detection (RFC 9700 §4.14), logout.
 *
 * A session is a family of refresh tokens. Exactly one token per family is live at a time (the session's
 * `generation`); each refresh spends it and makes the next. A spent or superseded token presented again means
 * a copy exists somewhere: the whole family is revoked, which also kills every access token of the session
 * (the authorizer checks the session). Every change is a conditional write, so of any number of concurrent
 * refreshes of one token exactly one wins (no transactions needed, which the embedded store lacks).
 */
import type { AccessTokenIssuer } from './access-token.js';
import type { Clock } from './clock.js';
import type { SessionConfig } from './config.js';
import { InvalidGrantError, InvalidRequestError, TooManyAttemptsError } from './errors.js';
import { checkPasswordBounds, type PasswordHasher } from './passwords.js';
import type { RefreshTokenRecord, SessionRecord, SessionStore, UserRecord, UserStore } from './ports.js';
import { hashRefreshToken, isRefreshTokenShape, newRefreshToken, newSessionId } from './refresh-token.js';
import type { LoginThrottle } from './throttle.js';
import { isSessionLive } from './revocation.js';
import { normalizeUsername } from './users.js';

export interface TokenSet {
  accessToken: string;
  expiresIn: number;
  refreshToken: string;
  /** Seconds until the session (and so this refresh token) ends for good. */
  refreshExpiresIn: number;
  sid: string;
  sub: string;
}

/** Things worth counting; the handlers turn them into metrics. Never carries a secret. */
export interface AuthEvents {
  loginSucceeded(): void;
  loginFailed(reason: 'bad_credentials' | 'throttled' | 'disabled'): void;
  /** A login was refused because its username reached LOGIN_MAX_FAILURES_PER_USER: a distributed attack. */
  loginUserCeilingReached(): void;
  refreshed(): void;
  refreshRejected(reason: 'unknown' | 'expired' | 'revoked'): void;
  reuseDetected(): void;
  loggedOut(scope: 'session' | 'all'): void;
}

export const noEvents: AuthEvents = {
  loginSucceeded() {},
  loginFailed() {},
  loginUserCeilingReached() {},
  refreshed() {},
  refreshRejected() {},
  reuseDetected() {},
  loggedOut() {},
};

export interface AuthServiceDeps {
  users: UserStore;
  sessions: SessionStore;
  hasher: PasswordHasher;
  throttle: LoginThrottle;
  tokens: AccessTokenIssuer;
  clock: Clock;
  config: SessionConfig;
  events?: AuthEvents;
}

export class AuthService {
  private readonly events: AuthEvents;

  constructor(private readonly d: AuthServiceDeps) {
    this.events = d.events ?? noEvents;
  }

  /**
   * Username + password → a new session. InvalidGrantError for any bad credential, TooManyAttemptsError when
   * throttled. `clientAddress` is the caller's IP (API Gateway's `requestContext.identity.sourceIp`): failures
   * are limited per (username, address), per username and per address (lambdas/core/throttle.ts).
   */
  async login(usernameInput: unknown, password: unknown, clientAddress?: string): Promise<TokenSet> {
    if (typeof usernameInput !== 'string' || usernameInput.length === 0 || usernameInput.length > 256) {
      throw new InvalidRequestError('username must be a non-empty string');
    }
    checkPasswordBounds(password, 'verify');
    const username = usernameInput.normalize('NFKC').toLowerCase();

    const validName = normalizeUsername(username, false);
    if (this.d.hasher.saturated) {
      // More passwords are waiting to be checked than can be checked in time: shed this one before it costs
      // the store anything (it would be refused by verify() anyway).
      this.events.loginFailed('throttled');
      throw new TooManyAttemptsError(1);
    }
    // A slot in the throttle and the user, in parallel: one round trip of latency. The slot is taken before
    // the password is checked, so concurrent attempts cannot get more passwords checked than the limit.
    const [admission, found] = await Promise.allSettled([
      this.d.throttle.admit(username, clientAddress),
      validName === undefined ? undefined : this.d.users.get(validName),
    ]);
    if (admission.status === 'rejected') {
      throw admission.reason;
    }
    if (!admission.value.admitted) {
      if (admission.value.locked.includes('user')) this.events.loginUserCeilingReached();
      this.events.loginFailed('throttled');
      throw new TooManyAttemptsError(admission.value.retryAfterSeconds);
    }
    const attempt = admission.value.attempt;
    if (found.status === 'rejected') {
      await attempt.release();
      throw found.reason;
    }
    const user = found.value;
    // Same work whether or not the user exists: verify() hashes against a decoy for unknown users.
    let ok: boolean;
    try {
      ok = await this.d.hasher.verify(password, user?.passwordHash);
    } catch (err) {
      await attempt.release(); // never checked (e.g. too many hashes queued): not a failure
      throw err;
    }
    if (!ok || !user) {
      await attempt.fail();
      this.events.loginFailed('bad_credentials');
      throw new InvalidGrantError('invalid username or password');
    }
    if (user.status !== 'active') {
      // Checked after the password so that a disabled account is not revealed to someone without it; counted
      // as a failure, or the lock arriving one attempt later would tell a guesser the password was right.
      await attempt.fail();
      this.events.loginFailed('disabled');
      throw new InvalidGrantError('invalid username or password');
    }
    await attempt.release();
    if (this.d.hasher.needsRehash(user.passwordHash)) {
      await this.d.users.setPasswordHash(user.username, await this.d.hasher.hash(password));
    }

    const now = this.d.clock.now();
    const sid = newSessionId();
    const refreshToken = newRefreshToken();
    const hash = hashRefreshToken(refreshToken);
    const expiresAt = now + this.d.config.refreshTokenTtlSeconds * 1000;
    // Strictly after the user's cut-off: a login that has already seen a "log out everywhere" must survive
    // it even within the same millisecond, while every session that existed at the cut-off dies.
    const createdAt = Math.max(now, user.sessionsValidAfter + 1);
    const session: SessionRecord = { sid, username: user.username, createdAt, expiresAt, generation: 0, refreshHash: hash };
    const refresh: RefreshTokenRecord = { hash, sid, generation: 0, expiresAt };
    await this.d.sessions.create(session, refresh);
    this.events.loginSucceeded();
    return this.tokenSet(user, session, refreshToken, now);
  }

  /** Rotates a refresh token. Any problem is InvalidGrantError; reuse also revokes the session. */
  async refresh(refreshToken: unknown): Promise<TokenSet> {
    if (refreshToken === undefined || refreshToken === null || refreshToken === '') {
      throw new InvalidRequestError('refresh_token is required');
    }
    if (!isRefreshTokenShape(refreshToken)) {
      this.events.refreshRejected('unknown');
      throw new InvalidGrantError('refresh token is invalid');
    }
    const hash = hashRefreshToken(refreshToken);
    const now = this.d.clock.now();

    const record = await this.d.sessions.getRefreshToken(hash);
    if (!record) {
      this.events.refreshRejected('unknown');
      throw new InvalidGrantError('refresh token is invalid');
    }
    if (record.expiresAt <= now) {
      this.events.refreshRejected('expired');
      throw new InvalidGrantError('refresh token has expired');
    }
    const { session, user } = await this.liveSession(record.sid, now);

    let from = record.generation;
    if (record.usedAt !== undefined || record.generation !== session.generation) {
      from = await this.handleReuse(record, session, now);
    } else if (!(await this.d.sessions.claimRefreshToken(hash, now))) {
      // Someone spent this token between our read and our write: a concurrent exchange of the same token.
      const again = await this.d.sessions.getRefreshToken(hash);
      const current = await this.d.sessions.getSession(record.sid);
      if (!again || !current) throw new InvalidGrantError('refresh token is invalid');
      from = await this.handleReuse(again, current, now);
    }

    const next = newRefreshToken();
    const nextRecord: RefreshTokenRecord = {
      hash: hashRefreshToken(next),
      sid: session.sid,
      generation: from + 1,
      expiresAt: session.expiresAt, // the session's absolute lifetime does not grow with rotation
    };
    // The clock is read again: the rotation write itself must find the session unrevoked and unexpired.
    if (!(await this.d.sessions.rotate(session.sid, from, nextRecord, this.d.clock.now()))) {
      // The session moved on, was revoked or ran out while we worked: no tokens for this exchange.
      this.events.refreshRejected('revoked');
      throw new InvalidGrantError('refresh token is invalid');
    }
    this.events.refreshed();
    return this.tokenSet(user, { ...session, generation: from + 1 }, next, now);
  }

  /**
   * A spent or superseded token came back. Within the optional grace window (a client retrying after a lost
   * response) the exchange may proceed from the session's current generation; otherwise the family dies.
   * Returns the generation to rotate from, or throws.
   */
  private async handleReuse(record: RefreshTokenRecord, session: SessionRecord, now: number): Promise<number> {
    const graceMs = this.d.config.reuseGraceSeconds * 1000;
    const inGrace =
      graceMs > 0 &&
      record.usedAt !== undefined &&
      now - record.usedAt <= graceMs &&
      session.generation === record.generation + 1;
    if (inGrace) return session.generation;
    await this.d.sessions.revoke(session.sid, now);
    this.events.reuseDetected();
    throw new InvalidGrantError('refresh token was already used; the session has been revoked');
  }

  /** The session and its user, if the session may still be used; InvalidGrantError otherwise. */
  private async liveSession(sid: string, now: number): Promise<{ session: SessionRecord; user: UserRecord }> {
    const session = await this.d.sessions.getSession(sid);
    if (!session || session.revokedAt !== undefined || session.expiresAt <= now) {
      this.events.refreshRejected('revoked');
      throw new InvalidGrantError('the session has ended');
    }
    const user = await this.d.users.get(session.username);
    if (!user || user.status !== 'active' || session.createdAt <= user.sessionsValidAfter) {
      await this.d.sessions.revoke(sid, now);
      this.events.refreshRejected('revoked');
      throw new InvalidGrantError('the session has ended');
    }
    return { session, user };
  }

  /**
   * Ends sessions; idempotent (logging out twice is fine). Needs a live credential for anything beyond the
   * presented session itself:
   * - `sub`/`sid` come from a verified, unexpired access token: its session ends.
   * - A refresh token ends its own session: the current one by logout, a spent or superseded one as reuse
   *   (the family ends, as at refresh). It never reaches another user's session: paired with an access token
   *   of another user it is refused (400) before anything happens.
   * - `all` moves the user's cut-off, and only for a user proven by a LIVE credential: the access token of a
   *   live session, or the current, unspent, unexpired refresh token of a live session (which could mint such
   *   an access token anyway). A spent token, the access token of an ended session, or nothing live → 401
   *   invalid_grant, after ending what the presented credentials may end and nothing else.
   */
  async logout(opts: { sub?: string; sid?: string; refreshToken?: unknown; all?: boolean }): Promise<void> {
    const now = this.d.clock.now();
    const access = opts.sub !== undefined && opts.sid !== undefined ? { sub: opts.sub, sid: opts.sid } : undefined;
    if (access === undefined && opts.refreshToken === undefined) throw new InvalidGrantError('no session to log out of');

    let presented: { record: RefreshTokenRecord; session: SessionRecord } | undefined;
    if (opts.refreshToken !== undefined) {
      if (!isRefreshTokenShape(opts.refreshToken)) throw new InvalidGrantError('refresh token is invalid');
      const record = await this.d.sessions.getRefreshToken(hashRefreshToken(opts.refreshToken));
      const session = record ? await this.d.sessions.getSession(record.sid) : undefined;
      if (record && session) {
        if (access && session.username !== access.sub) {
          throw new InvalidRequestError('the refresh token and the access token belong to different users');
        }
        presented = { record, session };
      }
    }

    const ending = new Set<string>();
    let liveUser: string | undefined;
    if (access) {
      ending.add(access.sid);
      const session = access.sid === presented?.session.sid ? presented.session : undefined;
      if (opts.all && (await this.isLive(access.sid, access.sub, now, session))) liveUser = access.sub;
    }
    if (presented) {
      const { record, session } = presented;
      ending.add(session.sid);
      const spent = record.usedAt !== undefined || record.generation !== session.generation;
      if (spent && session.revokedAt === undefined) this.events.reuseDetected();
      const current = !spent && record.expiresAt > now;
      if (opts.all && liveUser === undefined && current && (await this.isLive(session.sid, session.username, now, session))) {
        liveUser = session.username;
      }
    }

    if (opts.all && liveUser !== undefined) {
      await this.d.users.revokeAllSessions(liveUser, now);
      this.events.loggedOut('all');
    }
    for (const sid of ending) await this.d.sessions.revoke(sid, now);
    if (opts.all && liveUser === undefined) throw new InvalidGrantError('logging out everywhere needs a live session');
    if (!opts.all && ending.size > 0) this.events.loggedOut('session');
  }

  /** Whether session `sid` of `username` may still be used: the authorizer's rule (isSessionLive), read fresh. */
  private async isLive(sid: string, username: string, now: number, known?: SessionRecord): Promise<boolean> {
    const session = known ?? (await this.d.sessions.getSession(sid));
    if (!session) return false;
    const user = await this.d.users.get(username);
    return isSessionLive({ session, ...(user ? { user } : {}) }, username, now);
  }

  private async tokenSet(user: UserRecord, session: SessionRecord, refreshToken: string, now: number): Promise<TokenSet> {
    const access = await this.d.tokens.issue({ sub: user.username, sid: session.sid, permissions: user.permissions });
    return {
      accessToken: access.token,
      expiresIn: access.expiresIn,
      refreshToken,
      refreshExpiresIn: Math.max(0, Math.floor((session.expiresAt - now) / 1000)),
      sid: session.sid,
      sub: user.username,
    };
  }
}
