/**
 * Matches a request to the route table the way a REST API matches resources and methods: literal segments
 * match themselves (case-sensitively), `{name}` matches exactly one non-empty segment, a literal resource
 * beats a parameter at the same position, and a single trailing slash is ignored (`/orders/` reaches
 * `/orders`). No match, for the path or for the method, is the caller's 403 "Missing Authentication Token".
 *
 * Matching runs on the raw (still percent-encoded) path, so `%2F` inside a parameter stays inside it; path
 * parameter values are then percent-decoded, as API Gateway hands them to the integration.
 */
import { createHash } from 'node:crypto';
import type { Route } from '../routes.js';

export interface CompiledRoute {
  readonly route: Route;
  /** A stable stand-in for the API Gateway resource id. */
  readonly resourceId: string;
}

export interface RouteMatch {
  readonly compiled: CompiledRoute;
  /** Decoded path parameters, or null when the resource has none (as in the proxy event). */
  readonly pathParameters: Record<string, string> | null;
}

/** The path matched a resource, but a parameter is not valid percent-encoding. */
export const BAD_PATH_ENCODING = Symbol('bad-path-encoding');

interface TemplateRoute {
  readonly compiled: CompiledRoute;
  /** Per segment: the literal text, or null for a parameter. */
  readonly segments: readonly (string | null)[];
  readonly paramNames: readonly (string | null)[];
}

const PARAM = /^\{([A-Za-z0-9_.-]+)\}$/;

const resourceIdFor = (path: string): string =>
  createHash('sha256').update(path).digest('base64url').replace(/[-_]/g, '').slice(0, 6).toLowerCase();

/** A literal segment (0) sorts before a parameter (1), position by position. */
function bySpecificity(a: TemplateRoute, b: TemplateRoute): number {
  for (let i = 0; i < a.segments.length; i++) {
    const d = (a.segments[i] === null ? 1 : 0) - (b.segments[i] === null ? 1 : 0);
    if (d !== 0) return d;
  }
  return 0;
}

export class Router {
  /** method → literal path → route */
  private readonly literal = new Map<string, Map<string, CompiledRoute>>();
  /** method → segment count → routes with parameters, most specific first */
  private readonly templates = new Map<string, Map<number, TemplateRoute[]>>();

  constructor(routes: readonly Route[]) {
    for (const route of routes) {
      if (!route.path.startsWith('/')) throw new Error(`route path must start with '/': ${route.path}`);
      const compiled: CompiledRoute = { route, resourceId: resourceIdFor(route.path) };
      const segments = route.path === '/' ? [] : route.path.slice(1).split('/');
      const paramNames = segments.map((s) => PARAM.exec(s)?.[1] ?? null);
      if (paramNames.every((p) => p === null)) {
        let byPath = this.literal.get(route.method);
        if (!byPath) this.literal.set(route.method, (byPath = new Map()));
        byPath.set(normalize(route.path), compiled);
        continue;
      }
      let byCount = this.templates.get(route.method);
      if (!byCount) this.templates.set(route.method, (byCount = new Map()));
      const list = byCount.get(segments.length) ?? [];
      list.push({ compiled, segments: segments.map((s, i) => (paramNames[i] === null ? s : null)), paramNames });
      list.sort(bySpecificity);
      byCount.set(segments.length, list);
    }
  }

  /** The route for a request, null when there is none, or BAD_PATH_ENCODING. `rawPath` starts with '/'. */
  match(method: string, rawPath: string): RouteMatch | null | typeof BAD_PATH_ENCODING {
    const path = normalize(rawPath);
    const exact = this.literal.get(method)?.get(path);
    if (exact) return { compiled: exact, pathParameters: null };

    const byCount = this.templates.get(method);
    if (!byCount) return null;
    const segments = path === '/' ? [] : path.slice(1).split('/');
    const candidates = byCount.get(segments.length);
    if (!candidates) return null;
    for (const candidate of candidates) {
      if (!segmentsMatch(candidate.segments, segments)) continue;
      const params: Record<string, string> = {};
      for (let i = 0; i < segments.length; i++) {
        const name = candidate.paramNames[i];
        if (name == null) continue;
        const value = decodeSegment(segments[i] as string);
        if (value === undefined) return BAD_PATH_ENCODING;
        params[name] = value;
      }
      return { compiled: candidate.compiled, pathParameters: params };
    }
    return null;
  }
}

function segmentsMatch(template: readonly (string | null)[], segments: readonly string[]): boolean {
  for (let i = 0; i < template.length; i++) {
    const literal = template[i];
    const actual = segments[i] as string;
    if (literal === null ? actual.length === 0 : literal !== actual) return false;
  }
  return true;
}

const normalize = (path: string): string =>
  path.length > 1 && path.charCodeAt(path.length - 1) === 47 /* '/' */ ? path.slice(0, -1) : path;

function decodeSegment(segment: string): string | undefined {
  if (!segment.includes('%')) return segment;
  try {
    return decodeURIComponent(segment);
  } catch {
    return undefined;
  }
}
