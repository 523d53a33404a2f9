/**
 * Permission grammar: `resource:action`, where `resource:*` grants every action on the resource.
 * Tokens carry permissions space-separated in `scope` (RFC 9068 / RFC 8693 style).
 */
import { InvalidRequestError } from './errors.js';

const PERMISSION = /^[a-z0-9][a-z0-9_.-]{0,63}:(\*|[a-z0-9][a-z0-9_.-]{0,63})$/;

export const isPermission = (p: string): boolean => PERMISSION.test(p);

/** Validates and de-duplicates a list of permissions (admin input); throws InvalidRequestError. */
export function normalizePermissions(list: readonly string[]): string[] {
  const out = new Set<string>();
  for (const p of list) {
    const t = p.trim();
    if (t === '') continue;
    if (!isPermission(t)) throw new InvalidRequestError(`not a permission (resource:action): "${t}"`);
    out.add(t);
  }
  return [...out].sort();
}

export const parseScope = (scope: string): string[] => (scope === '' ? [] : scope.split(' ').filter((s) => s !== ''));

/** Does a holder of `held` get `required`? Exact match, or `resource:*`. */
export function grants(held: ReadonlySet<string> | readonly string[], required: string): boolean {
  const set = held instanceof Set ? held : new Set(held as readonly string[]);
  if (set.has(required)) return true;
  const colon = required.indexOf(':');
  return colon > 0 && set.has(`${required.slice(0, colon)}:*`);
}
