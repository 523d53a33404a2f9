/**
 * Brute-force throttling for login, per username (known or not, so a 429 reveals nothing about existence).
 *
 * After `maxFailures` failures, each further failure locks the name for base·2^k seconds, capped at
 * `lockMaxSeconds`. Locks always expire: there is no permanent lockout an attacker could impose. The
 * failure count is forgotten a day after the last failure, and a successful login clears it.
 */
import type { Clock } from './clock.js';
import type { ThrottleConfig } from './config.js';
import { TooManyAttemptsError } from './errors.js';
import type { ThrottleStore } from './ports.js';

const FORGET_AFTER_MS = 24 * 3600 * 1000;

export const throttleKey = (username: string): string => username.normalize('NFKC').toLowerCase().slice(0, 256);

export class LoginThrottle {
  constructor(
    private readonly store: ThrottleStore,
    private readonly cfg: ThrottleConfig,
    private readonly clock: Clock,
  ) {}

  /**
   * Throws TooManyAttemptsError while the name is locked. Call before checking the password. Resolves to
   * whether a failure record exists (so that a success only costs a write when there is something to clear).
   */
  async assertAllowed(username: string): Promise<boolean> {
    const rec = await this.store.get(throttleKey(username));
    const now = this.clock.now();
    if (rec && rec.lockedUntil > now) throw new TooManyAttemptsError(Math.max(1, Math.ceil((rec.lockedUntil - now) / 1000)));
    return rec !== undefined;
  }

  /** Records a failure; returns the lock (seconds) it caused, 0 if none. */
  async recordFailure(username: string): Promise<number> {
    const key = throttleKey(username);
    const now = this.clock.now();
    const rec = await this.store.recordFailure(key, now, FORGET_AFTER_MS);
    const over = rec.failures - this.cfg.maxFailures;
    if (over < 0) return 0;
    const seconds = Math.min(this.cfg.lockMaxSeconds, this.cfg.lockBaseSeconds * 2 ** Math.min(over, 30));
    await this.store.lock(key, now + seconds * 1000);
    return seconds;
  }

  async recordSuccess(username: string): Promise<void> {
    await this.store.clear(throttleKey(username));
  }
}
