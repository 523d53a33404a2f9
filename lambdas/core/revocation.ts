/**
 * Revocation check for the authorizer: is the token's session still live?
 *
 * A session is live when it exists, is not revoked, has not passed its absolute lifetime, belongs to the
 * token's subject, its user is active, and it was created after the user's "log out everywhere" cut-off.
 *
 * A small in-memory cache (bounded, short TTL) keeps store traffic to at most one round trip per session
 * per container per `ttlMs`. Staleness bound: a revocation reaches a request within
 * (API Gateway authorizer cache TTL + this TTL). If the store cannot answer we fail closed: the error
 * propagates (the authorizer answers 500, which API Gateway never caches) and nothing is cached.
 */
import type { Clock } from './clock.js';
import { InvalidTokenError } from './errors.js';
import type { SessionStatus, SessionStatusSource } from './ports.js';

interface Entry {
  live: boolean;
  username: string;
  /** Session end, ms: a live answer is never served past it. */
  sessionExpiresAt: number;
  fetchedAt: number;
}

export function isSessionLive(status: SessionStatus, username: string, now: number): boolean {
  const { session, user } = status;
  return (
    session !== undefined &&
    user !== undefined &&
    session.username === username &&
    session.revokedAt === undefined &&
    session.expiresAt > now &&
    user.status === 'active' &&
    session.createdAt > user.sessionsValidAfter
  );
}

/** The answer of every cache hit: one settled promise, shared. */
const LIVE: Promise<void> = Promise.resolve();

export class RevocationCheck {
  private readonly cache = new Map<string, Entry>();
  /** Lookups on their way, by sid: concurrent misses for one session share one round trip. */
  private readonly inflight = new Map<string, { username: string; status: Promise<SessionStatus> }>();
  /** Store round trips made (for tests and the benchmark: count, don't estimate). */
  lookups = 0;

  constructor(
    private readonly source: SessionStatusSource,
    private readonly clock: Clock,
    private readonly opts: { ttlMs: number; maxEntries: number },
  ) {}

  /**
   * Resolves if the session is live; rejects with InvalidTokenError('revoked') if not, or with the store's
   * error. A cache hit answers with an already settled promise (no async frame: this runs on every request).
   */
  assertLive(sid: string, username: string): Promise<void> {
    const now = this.clock.now();
    const hit = this.cache.get(sid);
    if (hit && now - hit.fetchedAt < this.opts.ttlMs && hit.username === username) {
      if (hit.live && hit.sessionExpiresAt > now) return LIVE;
      if (!hit.live) return Promise.reject(new InvalidTokenError('revoked'));
    }
    return this.check(sid, username, now);
  }

  private async check(sid: string, username: string, now: number): Promise<void> {
    const status = await this.fetch(sid, username); // throws DependencyUnavailableError: nothing cached
    const live = isSessionLive(status, username, now);
    if (this.opts.ttlMs > 0) {
      if (this.cache.has(sid)) this.cache.delete(sid);
      else if (this.cache.size >= this.opts.maxEntries) {
        const oldest = this.cache.keys().next();
        if (!oldest.done) this.cache.delete(oldest.value);
      }
      this.cache.set(sid, { live, username, sessionExpiresAt: status.session?.expiresAt ?? 0, fetchedAt: now });
    }
    if (!live) throw new InvalidTokenError('revoked');
  }

  /**
   * One store round trip, or a share of one already on its way for the same session and user (with the cache
   * on: a burst of requests of a new session would otherwise each go to the store before the first answer).
   */
  private fetch(sid: string, username: string): Promise<SessionStatus> {
    const pending = this.opts.ttlMs > 0 ? this.inflight.get(sid) : undefined;
    if (pending !== undefined && pending.username === username) return pending.status;
    this.lookups++;
    const status = this.source.lookup(sid, username);
    if (this.opts.ttlMs > 0) {
      const entry = { username, status };
      this.inflight.set(sid, entry);
      const done = () => {
        if (this.inflight.get(sid) === entry) this.inflight.delete(sid);
      };
      status.then(done, done);
    }
    return status;
  }
}
