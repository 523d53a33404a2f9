/**
 * IAM policies for API Gateway from a caller's permissions.
 *
 * The policy allows EVERY route of the route table that the permissions grant, not just the route being
 * called: API Gateway caches the authorizer's answer per token and re-evaluates it for other routes, so a
 * policy for `event.methodArn` alone would give spurious 403s on the next route. Path parameters become `*`.
 */
import { grants, parseScope } from './permissions.js';

export interface PolicyRoute {
  readonly method: string;
  readonly path: string;
  readonly permission: string | null;
}

export interface PolicyStatement {
  Action: 'execute-api:Invoke';
  Effect: 'Allow' | 'Deny';
  Resource: string[];
}

export interface AuthorizerPolicy {
  principalId: string;
  policyDocument: { Version: '2012-10-17'; Statement: PolicyStatement[] };
  context: Record<string, string | number | boolean>;
}

/** `arn:aws:execute-api:region:account:apiId/stage/` from a method ARN, or undefined if it isn't one. */
export function apiArnPrefix(methodArn: string): string | undefined {
  if (!methodArn.startsWith('arn:')) return undefined;
  const first = methodArn.indexOf('/');
  if (first < 0) return undefined;
  const second = methodArn.indexOf('/', first + 1);
  if (second < 0) return undefined;
  return methodArn.slice(0, second + 1);
}

/** `/orders/{id}` → `orders/*` (the resource part after `METHOD/`). */
export const routeResource = (method: string, path: string): string =>
  `${method}/${path.replace(/^\//, '').replace(/\{[^}/]+\}/g, '*')}`;

export class PolicyBuilder {
  private readonly protectedRoutes: { resource: string; permission: string }[];
  /** scope string + ARN prefix → resources; permission sets repeat across callers, so this stays tiny. */
  private readonly memo = new Map<string, string[]>();
  /**
   * ARN prefix → scope string → the finished, frozen policy document: the steady state of `build` is two Map
   * lookups and one small object, with no route-table walk and no string concatenation.
   */
  private readonly documents = new Map<string, Map<string, AuthorizerPolicy['policyDocument']>>();
  private documentCount = 0;
  /** The last ARN prefix seen: an API has one per stage, so a prefix check replaces parsing the ARN. */
  private lastPrefix = '';

  constructor(routes: readonly PolicyRoute[], private readonly memoLimit = 1000) {
    this.protectedRoutes = routes
      .filter((r): r is PolicyRoute & { permission: string } => r.permission !== null)
      .map((r) => ({ resource: routeResource(r.method, r.path), permission: r.permission }));
  }

  /** The ARNs the permissions allow, under the API/stage of `prefix`. */
  allowedResources(prefix: string, permissions: readonly string[], scopeKey = permissions.join(' ')): string[] {
    const key = `${prefix}\n${scopeKey}`;
    const hit = this.memo.get(key);
    if (hit) return hit;
    const held = new Set(permissions);
    const resources: string[] = [];
    for (const r of this.protectedRoutes) {
      if (grants(held, r.permission)) resources.push(prefix + r.resource);
    }
    if (this.memo.size >= this.memoLimit) this.memo.clear();
    this.memo.set(key, resources);
    return resources;
  }

  /**
   * The authorizer's answer: Allow for every permitted route; if nothing is permitted, an explicit Deny on
   * the whole stage (a valid token without permissions is a 403, not a 401). The policy document is shared
   * between answers for the same API stage and permissions, and frozen.
   */
  build(
    methodArn: string,
    principalId: string,
    /**
     * The caller's permissions, or their space-separated `scope` string (parsed only when no policy for it is
     * cached yet: permission sets repeat across callers, so the steady state parses nothing).
     */
    permissions: readonly string[] | string,
    context: Record<string, string | number | boolean>,
    scopeKey?: string,
  ): AuthorizerPolicy {
    // apiArnPrefix ends at the ARN's second '/': any ARN starting with the last prefix has that same prefix.
    let prefix: string | undefined = this.lastPrefix;
    if (prefix === '' || !methodArn.startsWith(prefix)) {
      prefix = apiArnPrefix(methodArn);
      if (prefix === undefined) throw new Error('methodArn is not an execute-api ARN');
      this.lastPrefix = prefix;
    }
    const list = (): readonly string[] => (typeof permissions === 'string' ? parseScope(permissions) : permissions);
    const key = scopeKey ?? (typeof permissions === 'string' ? permissions : permissions.join(' '));
    let byScope = this.documents.get(prefix);
    let policyDocument = byScope?.get(key);
    if (policyDocument === undefined) {
      const resources = this.allowedResources(prefix, list(), key);
      const statement: PolicyStatement =
        resources.length > 0
          ? { Action: 'execute-api:Invoke', Effect: 'Allow', Resource: Object.freeze([...resources]) as string[] }
          : { Action: 'execute-api:Invoke', Effect: 'Deny', Resource: Object.freeze([`${prefix}*`]) as string[] };
      policyDocument = Object.freeze({ Version: '2012-10-17', Statement: Object.freeze([Object.freeze(statement)]) as PolicyStatement[] });
      if (this.documentCount >= this.memoLimit) {
        this.documents.clear();
        this.documentCount = 0;
        byScope = undefined;
      }
      if (byScope === undefined) this.documents.set(prefix, (byScope = new Map()));
      byScope.set(key, policyDocument);
      this.documentCount++;
    }
    return { principalId, policyDocument, context };
  }
}
