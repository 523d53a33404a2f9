/**
 * Evaluates the IAM policy a Lambda authorizer returns, the way API Gateway does for `execute-api:Invoke`:
 * an explicit Deny matching the method ARN wins, otherwise an Allow must match, otherwise access is denied.
 *
 * `compilePolicy` validates and precompiles a policy document once (when the authorizer answers and the
 * result is cached); `evaluatePolicy` is then a handful of set lookups and string compares per request.
 * Pure: no I/O, no clock.
 */
import { compileWildcard, hasWildcard, type WildcardTest } from './wildcard.js';

export type PolicyDecision = 'allow' | 'explicit-deny' | 'implicit-deny';

/** The policy document is not one API Gateway can use (it answers 500 AuthorizerConfigurationException). */
export class PolicyFormatError extends Error {
  constructor(readonly reason: string) {
    super(`invalid policy document: ${reason}`);
    this.name = 'PolicyFormatError';
  }
}

/** The resources of one effect, split by how they match: exact ARNs in a set, wildcard patterns as tests. */
export class ResourceMatcher {
  private readonly exact = new Set<string>();
  private readonly patterns: WildcardTest[] = [];
  private matchesAll = false;

  add(pattern: string): void {
    if (pattern === '*') this.matchesAll = true;
    else if (hasWildcard(pattern)) this.patterns.push(compileWildcard(pattern));
    else this.exact.add(pattern);
  }

  matches(arn: string): boolean {
    if (this.matchesAll || this.exact.has(arn)) return true;
    for (const test of this.patterns) if (test(arn)) return true;
    return false;
  }
}

export interface CompiledPolicy {
  readonly allow: ResourceMatcher;
  readonly deny: ResourceMatcher;
}

/** The action API Gateway checks the policy for. */
export const INVOKE_ACTION = 'execute-api:Invoke';
const INVOKE_ACTION_LOWER = INVOKE_ACTION.toLowerCase();

const isRecord = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

/** A string, or a non-empty array of strings (IAM's "string or list" elements). */
function stringList(value: unknown, element: string): readonly string[] {
  if (typeof value === 'string') return [value];
  if (Array.isArray(value) && value.length > 0 && value.every((v) => typeof v === 'string')) {
    return value as string[];
  }
  throw new PolicyFormatError(`${element} must be a string or a non-empty array of strings`);
}

/**
 * Action names are case-insensitive in IAM, so `execute-api:invoke`, `execute-api:*`, `execute-api:Inv*` and
 * `*` all cover `execute-api:Invoke`; anything else (`s3:GetObject`) makes the statement irrelevant here.
 */
const coversInvoke = (actions: readonly string[]): boolean =>
  actions.some((a) => compileWildcard(a.toLowerCase())(INVOKE_ACTION_LOWER));

/**
 * Validates a policy document and precompiles it. Throws PolicyFormatError for anything API Gateway would
 * reject: a missing or non-object document or statement, an Effect other than exactly `Allow`/`Deny`, or a
 * statement without Action or Resource (NotAction/NotResource are not supported by this emulator).
 *
 * A statement with a Condition cannot be evaluated here (there is no request context to test it against),
 * so it fails closed: a conditional Allow grants nothing, a conditional Deny denies.
 */
export function compilePolicy(document: unknown): CompiledPolicy {
  if (!isRecord(document)) throw new PolicyFormatError('policyDocument must be an object');
  if (document.Version !== undefined && typeof document.Version !== 'string') {
    throw new PolicyFormatError('Version must be a string');
  }
  const raw = document.Statement;
  let statements: readonly unknown[];
  if (Array.isArray(raw)) statements = raw;
  else if (isRecord(raw)) statements = [raw];
  else throw new PolicyFormatError('Statement must be an array or an object');

  const compiled: CompiledPolicy = { allow: new ResourceMatcher(), deny: new ResourceMatcher() };
  statements.forEach((statement, i) => {
    if (!isRecord(statement)) throw new PolicyFormatError(`Statement[${i}] must be an object`);
    const effect = statement.Effect;
    if (effect !== 'Allow' && effect !== 'Deny') {
      throw new PolicyFormatError(`Statement[${i}].Effect must be "Allow" or "Deny"`);
    }
    const actions = stringList(statement.Action, `Statement[${i}].Action`);
    const resources = stringList(statement.Resource, `Statement[${i}].Resource`);
    if (!coversInvoke(actions)) return;
    if (statement.Condition !== undefined && effect === 'Allow') return; // fail closed, see above
    const target = effect === 'Allow' ? compiled.allow : compiled.deny;
    for (const resource of resources) target.add(resource);
  });
  return compiled;
}

/** API Gateway's decision for one method ARN: explicit Deny first, then Allow, otherwise implicit deny. */
export function evaluatePolicy(policy: CompiledPolicy, methodArn: string): PolicyDecision {
  if (policy.deny.matches(methodArn)) return 'explicit-deny';
  if (policy.allow.matches(methodArn)) return 'allow';
  return 'implicit-deny';
}
