/**
 * Brute-force throttling for login. Three counters, each per fixed window (LOGIN_WINDOW_SECONDS, 900 s):
 *
 * - per (username, client address): LOGIN_MAX_FAILURES (5) failures, then that pair is locked until the
 *   window ends. An attacker hammering a name locks only their own address for it; the real user signs in
 *   from anywhere else.
 * - per username, from all addresses: LOGIN_MAX_FAILURES_PER_USER (100), the ceiling that bounds distributed
 *   guessing. Reaching it locks the name everywhere until the window ends (counted as a metric to alarm on).
 * - per client address, across all usernames: LOGIN_MAX_FAILURES_PER_ADDRESS (50), against password spraying.
 *
 * Reserve before hashing: an attempt takes a slot in all three counters (one conditional write each, in
 * parallel) before its password is checked, so at most LOGIN_MAX_FAILURES passwords are ever checked for a
 * pair per window however many requests arrive at once. A success gives its slots back (successes never
 * count); a failure keeps them until the window ends. Windows are fixed and aligned to the epoch, so a lock
 * never outlasts its window and slow guessing cannot extend one. Usernames count whether or not they exist
 * (a 429 reveals nothing). IPv6 clients are counted per /64, the block one subscriber usually gets.
 */
import { isIPv4, isIPv6 } from 'node:net';
import { randomBytes } from 'node:crypto';
import type { Clock } from './clock.js';
import type { ThrottleConfig } from './config.js';
import type { ThrottleStore } from './ports.js';

/**
 * An attempt that holds a slot but has neither failed nor been released for this long crashed (the login
 * function's timeout is 10 s): it counts as a failure. Younger ones may still succeed.
 */
export const PENDING_MS = 30_000;
/** How long a full counter that is not yet locked (attempts still checking) asks the client to wait. */
const BUSY_RETRY_SECONDS = 1;

export const throttleKey = (username: string): string => username.normalize('NFKC').toLowerCase().slice(0, 256);

/**
 * The client a limit applies to: an IPv4 address as is, an IPv6 address as its /64 (IPv4-mapped ones as
 * IPv4), anything else (absent, malformed) as one shared `unknown` client.
 */
export function clientBucket(address: string | undefined): string {
  if (address === undefined) return 'unknown';
  const a = address.trim().toLowerCase();
  if (isIPv4(a)) return a;
  if (!isIPv6(a)) return 'unknown';
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/.exec(a);
  if (mapped && isIPv4(mapped[1]!)) return mapped[1]!;
  const [head = '', tail] = a.split('::') as [string, string | undefined];
  const groups = (s: string) => (s === '' ? [] : s.split(':'));
  const h = groups(head);
  const t = tail === undefined ? [] : groups(tail);
  // An embedded IPv4 tail takes two groups' room; it never reaches the first four.
  const size = (g: string[]) => g.reduce((n, x) => n + (x.includes('.') ? 2 : 1), 0);
  const full = tail === undefined ? h : [...h, ...Array<string>(Math.max(0, 8 - size(h) - size(t))).fill('0'), ...t];
  return `${full.slice(0, 4).map((g) => parseInt(g, 16).toString(16)).join(':')}::/64`;
}

export type ThrottleLimit = 'pair' | 'user' | 'address';

/** A login attempt admitted to check its password; it must end with exactly one of these. */
export interface LoginAttempt {
  /** The password was right (or was never checked): give the slots back. */
  release(): Promise<void>;
  /** The password was wrong: keep the slots until the window ends. */
  fail(): Promise<void>;
}

export type Admission =
  | { admitted: true; attempt: LoginAttempt }
  | {
      admitted: false;
      retryAfterSeconds: number;
      /** The limits that are reached by failures (empty: only busy with attempts still being checked). */
      locked: ThrottleLimit[];
    };

interface Counter {
  limit: ThrottleLimit;
  name: string;
  max: number;
}

export class LoginThrottle {
  /**
   * Attempts this process has in flight per counter (reserving or checking their password). Only ever used
   * to refuse early: when this process alone already fills a counter, another attempt could not get a slot,
   * so it is answered "busy" without a store call. A Lambda container serves one request at a time, so this
   * matters where one process serves many logins at once (`npm start`): a burst then costs the store a
   * handful of writes instead of hundreds on the same few items. The store stays the only authority.
   */
  private readonly inFlight = new Map<string, number>();

  constructor(
    private readonly store: ThrottleStore,
    private readonly cfg: ThrottleConfig,
    private readonly clock: Clock,
  ) {}

  private enter(counters: Counter[]): (() => void) | undefined {
    if (counters.some((c) => (this.inFlight.get(c.name) ?? 0) >= c.max)) return undefined;
    for (const c of counters) this.inFlight.set(c.name, (this.inFlight.get(c.name) ?? 0) + 1);
    let left = false;
    return () => {
      if (left) return;
      left = true;
      for (const c of counters) {
        const n = (this.inFlight.get(c.name) ?? 1) - 1;
        if (n <= 0) this.inFlight.delete(c.name);
        else this.inFlight.set(c.name, n);
      }
    };
  }

  /**
   * Takes a slot for one attempt at `username` from `address` in every counter, before the password is
   * checked. Refused (with how long to wait) when any counter is full.
   */
  async admit(username: string, address: string | undefined): Promise<Admission> {
    const now = this.clock.now();
    const windowMs = this.cfg.windowSeconds * 1000;
    const window = Math.floor(now / windowMs);
    const windowEnd = (window + 1) * windowMs;
    const name = throttleKey(username);
    const client = clientBucket(address);
    const counters: Counter[] = [
      { limit: 'pair', name: `pair#${client}#${name}`, max: this.cfg.maxFailures },
      { limit: 'user', name: `user#${name}`, max: this.cfg.maxFailuresPerUser },
      { limit: 'address', name: `addr#${client}`, max: this.cfg.maxFailuresPerAddress },
    ];
    // The attempt id carries its start time, so that an attempt that never finished can be told apart.
    const id = `${now.toString(36)}.${randomBytes(12).toString('base64url')}`;
    const leave = this.enter(counters);
    if (!leave) return { admitted: false, retryAfterSeconds: BUSY_RETRY_SECONDS, locked: [] };
    const each = (fn: (c: Counter) => Promise<void>, of: Counter[]) => Promise.all(of.map(fn)).then(() => undefined);
    const finish = (fn: (c: Counter) => Promise<void>, of: Counter[]) => each(fn, of).finally(leave);
    const release = (of: Counter[]) => finish((c) => this.store.release(c.name, window, id), of);

    const taken = await Promise.allSettled(counters.map((c) => this.store.reserve(c.name, window, id, c.max, windowEnd)));
    const held = counters.filter((_, i) => taken[i]!.status === 'rejected' || (taken[i] as PromiseFulfilledResult<boolean>).value);
    const failure = taken.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failure) {
      // Fail closed, and give back whatever may have been taken (best effort: the store is in trouble).
      await release(held).catch(() => undefined);
      throw failure.reason;
    }
    if (held.length === counters.length) {
      return {
        admitted: true,
        attempt: {
          release: () => release(counters),
          fail: () => finish((c) => this.store.markFailed(c.name, window, id), counters),
        },
      };
    }

    const refused = counters.filter((c) => !held.includes(c));
    await release(held);
    const locked: ThrottleLimit[] = [];
    await each(async (c) => {
      const state = await this.store.get(c.name, window);
      const failed = new Set(state.failed);
      const settled = state.held.filter((h) => failed.has(h) || now - startedAt(h) >= PENDING_MS).length;
      if (settled >= c.max) locked.push(c.limit);
    }, refused);
    const retryAfterSeconds = locked.length > 0 ? Math.max(1, Math.ceil((windowEnd - now) / 1000)) : BUSY_RETRY_SECONDS;
    return { admitted: false, retryAfterSeconds, locked };
  }
}

function startedAt(attemptId: string): number {
  const t = parseInt(attemptId.slice(0, attemptId.indexOf('.')), 36);
  return Number.isFinite(t) ? t : 0;
}
