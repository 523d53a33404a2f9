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

/**
 * The event's `methodArn` is not an execute-api method ARN (only a hand-made invocation sends one): there is no
 * API to write a policy for. The authorizer answers it as it answers a bad token, `Unauthorized`.
 */
export class InvalidMethodArnError extends Error {
  override readonly name = 'InvalidMethodArnError';
}

/** `arn:aws:execute-api:region:account:apiId/stage/` from a method ARN, or undefined if it isn't one. */
export function apiArnPrefix(methodArn: unknown): string | undefined {
  if (typeof methodArn !== 'string' || !methodArn.startsWith('arn:')) return undefined;
  const first = methodArn.indexOf('/');
  if (first < 0) return undefined;
  // arn:partition:execute-api:region:account:apiId before the first '/'.
  const parts = methodArn.slice(0, first).split(':');
  if (parts.length !== 6 || parts[2] !== 'execute-api' || parts[5] === '') return undefined;
  const second = methodArn.indexOf('/', first + 1);
  if (second < 0) return undefined;
  return methodArn.slice(0, second + 1);
}

/** `/orders/{id}` → `orders/*` (the resource part after `METHOD/`). */
export const routeResource = (method: string, path: string): string =>
  `${method}/${path.replace(/^\//, '').replace(/\{[^}/]+\}/g, '*')}`;

export class PolicyBuilder {
  private readonly protectedRoutes: { resource: string; permission: string }[];
  /**
   * ARN prefix → scope → the finished, frozen policy document. Permission sets repeat across callers, so the
   * steady state of `build` is two Map lookups and one small object: no parsing, no route-table walk.
   */
  private readonly documents = new Map<string, Map<string, AuthorizerPolicy['policyDocument']>>();
  private documentCount = 0;
  /** The last ARN prefix seen: an API has one per stage, so a prefix check replaces parsing the ARN. */
  private lastPrefix = '';

  constructor(routes: readonly PolicyRoute[], private readonly cacheLimit = 1000) {
    this.protectedRoutes = routes
      .filter((r): r is PolicyRoute & { permission: string } => r.permission !== null)
      .map((r) => ({ resource: routeResource(r.method, r.path), permission: r.permission }));
  }

  /** The ARNs the permissions allow, under the API/stage of `prefix`. */
  allowedResources(prefix: string, permissions: readonly string[]): string[] {
    const held = new Set(permissions);
    return this.protectedRoutes.filter((r) => grants(held, r.permission)).map((r) => prefix + r.resource);
  }

  /**
   * The authorizer's answer: Allow for every permitted route; if nothing is permitted, an explicit Deny on
   * the whole stage (a valid token without permissions is a 403, not a 401). The policy document is shared
   * between answers for the same API stage and permissions, and frozen.
   *
   * @param scope the caller's permissions, or the token's space-separated `scope` (parsed only on a cache miss)
   */
  build(
    methodArn: string,
    principalId: string,
    scope: string | readonly string[],
    context: Record<string, string | number | boolean>,
  ): AuthorizerPolicy {
    // apiArnPrefix ends at the ARN's second '/': any ARN starting with the last prefix has that same prefix.
    let prefix: string | undefined = this.lastPrefix;
    if (prefix === '' || typeof methodArn !== 'string' || !methodArn.startsWith(prefix)) {
      prefix = apiArnPrefix(methodArn);
      if (prefix === undefined) throw new InvalidMethodArnError('methodArn is not an execute-api method ARN');
      this.lastPrefix = prefix;
    }
    const key = typeof scope === 'string' ? scope : scope.join(' ');
    let byScope = this.documents.get(prefix);
    let policyDocument = byScope?.get(key);
    if (policyDocument === undefined) {
      policyDocument = this.document(prefix, typeof scope === 'string' ? parseScope(scope) : scope);
      if (this.documentCount >= this.cacheLimit) {
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

  private document(prefix: string, permissions: readonly string[]): AuthorizerPolicy['policyDocument'] {
    const resources = this.allowedResources(prefix, permissions);
    const statement: PolicyStatement =
      resources.length > 0
        ? { Action: 'execute-api:Invoke', Effect: 'Allow', Resource: resources }
        : { Action: 'execute-api:Invoke', Effect: 'Deny', Resource: [`${prefix}*`] };
    Object.freeze(statement.Resource);
    return Object.freeze({ Version: '2012-10-17', Statement: Object.freeze([Object.freeze(statement)]) as PolicyStatement[] });
  }
}
