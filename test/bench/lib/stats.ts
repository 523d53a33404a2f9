/** Small statistics helpers for the benchmark: medians, percentiles, spreads, formatting. */

export function quantile(sorted: ArrayLike<number>, q: number): number {
  const n = sorted.length;
  if (n === 0) return Number.NaN;
  const pos = (n - 1) * q;
  const lo = Math.floor(pos);
  const hi = Math.min(n - 1, lo + 1);
  return sorted[lo]! + (sorted[hi]! - sorted[lo]!) * (pos - lo);
}

export const sortedCopy = (xs: ArrayLike<number>): Float64Array => Float64Array.from(xs as ArrayLike<number>).sort();

export const median = (xs: readonly number[]): number => quantile(sortedCopy(xs), 0.5);

/** Relative spread of repeated measurements: (max - min) / median, as a fraction. */
export function spread(xs: readonly number[]): number {
  if (xs.length < 2) return 0;
  const m = median(xs);
  return m === 0 ? 0 : (Math.max(...xs) - Math.min(...xs)) / Math.abs(m);
}

export const fmt = (x: number, digits = 1): string =>
  Number.isFinite(x) ? x.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits }) : 'n/a';

export const fmtInt = (x: number): string => (Number.isFinite(x) ? Math.round(x).toLocaleString('en-US') : 'n/a');

export const pct = (x: number): string => `±${(x * 50).toFixed(1)}%`;

export const kb = (bytes: number): string => `${(bytes / 1024).toFixed(1)} KB`;

/** A plain-text table: first row is the header; numbers should come pre-formatted. */
export function table(rows: readonly (readonly string[])[], align?: readonly ('l' | 'r')[]): string {
  const widths = rows[0]!.map((_, c) => Math.max(...rows.map((r) => (r[c] ?? '').length)));
  const line = (r: readonly string[]) =>
    r.map((cell, c) => ((align?.[c] ?? (c === 0 ? 'l' : 'r')) === 'l' ? cell.padEnd(widths[c]!) : cell.padStart(widths[c]!))).join('  ');
  return [line(rows[0]!), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.slice(1).map(line)].join('\n');
}

/** Deterministic pseudo-random numbers (mulberry32), so workloads are the same in every run. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function shuffle<T>(xs: T[], random: () => number): T[] {
  for (let i = xs.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [xs[i], xs[j]] = [xs[j]!, xs[i]!];
  }
  return xs;
}
