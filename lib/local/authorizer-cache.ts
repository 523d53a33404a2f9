/**
 * The authorizer result cache: one entry per identity-source value (the Authorization header), valid for the
 * authorizer's TTL, timed by the injected clock so tests move time instead of sleeping.
 *
 * Bounded: when full, the oldest entry goes (Map iteration order is insertion order, and a refreshed entry
 * is re-inserted at the end). Expired entries are dropped when they are next looked up.
 */
export class AuthorizerCache<V> {
  private readonly entries = new Map<string, { readonly value: V; readonly expiresAt: number }>();

  constructor(
    private readonly ttlMs: number,
    private readonly maxEntries = 10_000,
  ) {
    if (!(ttlMs > 0)) throw new RangeError('ttlMs must be positive; disable the cache instead');
    if (!(maxEntries >= 1)) throw new RangeError('maxEntries must be at least 1');
  }

  get size(): number {
    return this.entries.size;
  }

  /** The live value for `key` at time `now` (ms), or undefined. */
  get(key: string, now: number): V | undefined {
    const entry = this.entries.get(key);
    if (entry === undefined) return undefined;
    if (now < entry.expiresAt) return entry.value;
    this.entries.delete(key);
    return undefined;
  }

  /** Stores `value` for `key`, valid from `now` for the TTL. */
  set(key: string, value: V, now: number): void {
    this.entries.delete(key);
    if (this.entries.size >= this.maxEntries) {
      const oldest = this.entries.keys().next();
      if (!oldest.done) this.entries.delete(oldest.value);
    }
    this.entries.set(key, { value, expiresAt: now + this.ttlMs });
  }

  clear(): void {
    this.entries.clear();
  }
}
