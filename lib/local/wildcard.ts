/**
 * IAM wildcard patterns: `*` matches any run of characters (including none, and including `/`), `?` matches
 * exactly one character, everything else matches itself, case-sensitively.
 *
 * A pattern is compiled once into the cheapest test that fits it (equality, prefix, or the general matcher),
 * because a cached policy is re-checked on every request.
 *
 * No RegExp on purpose: the subject is a method ARN whose path the client chooses, and a pattern with several
 * `*` would make a backtracking regex engine polynomial in the path length. The matcher below backtracks only
 * to the last `*`, so it is O(pattern × subject) at worst and linear in practice.
 */

export type WildcardTest = (subject: string) => boolean;

const STAR = 42; // '*'
const QUESTION = 63; // '?'

export function hasWildcard(pattern: string): boolean {
  return pattern.includes('*') || pattern.includes('?');
}

/** The fastest test equivalent to `wildcardMatch(pattern, subject)`. */
export function compileWildcard(pattern: string): WildcardTest {
  if (!hasWildcard(pattern)) return (subject) => subject === pattern;
  const firstStar = pattern.indexOf('*');
  if (!pattern.includes('?') && firstStar === pattern.length - 1) {
    if (firstStar === 0) return () => true;
    const prefix = pattern.slice(0, -1);
    return (subject) => hasPrefix(subject, prefix);
  }
  return (subject) => wildcardMatch(pattern, subject);
}

/**
 * `subject.startsWith(prefix)`, comparing from the end of the prefix: the patterns of one policy share the
 * long `arn:aws:execute-api:…/stage/` head and differ near the end, so a mismatch shows up in a character or
 * two. (It also avoids `startsWith` on the concatenated method ARN, which V8 runs an order of magnitude
 * slower than a charCode loop.)
 */
function hasPrefix(subject: string, prefix: string): boolean {
  const n = prefix.length;
  if (subject.length < n) return false;
  for (let i = n - 1; i >= 0; i--) if (subject.charCodeAt(i) !== prefix.charCodeAt(i)) return false;
  return true;
}

/** Whether `subject` matches the whole of `pattern`. */
export function wildcardMatch(pattern: string, subject: string): boolean {
  const pl = pattern.length;
  const sl = subject.length;
  let p = 0;
  let s = 0;
  let starAt = -1; // index of the last '*' seen in the pattern
  let starSubject = 0; // subject index that '*' is currently taken to end at
  while (s < sl) {
    if (p < pl) {
      const c = pattern.charCodeAt(p);
      if (c === STAR) {
        starAt = p++;
        starSubject = s;
        continue;
      }
      if (c === QUESTION || c === subject.charCodeAt(s)) {
        p++;
        s++;
        continue;
      }
    }
    if (starAt < 0) return false;
    // Let the last '*' swallow one more character and retry from just after it.
    p = starAt + 1;
    s = ++starSubject;
  }
  while (p < pl && pattern.charCodeAt(p) === STAR) p++;
  return p === pl;
}
