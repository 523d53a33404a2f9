/**
 * Validates what a TOKEN authorizer returned, as API Gateway does, and turns it into the cached decision.
 *
 * The output first goes through JSON, because in the cloud it crosses the Lambda boundary that way: undefined
 * members vanish, a Date becomes a string, a cycle or a BigInt fails the invocation. Then:
 * - `principalId` must be a string;
 * - `policyDocument` must be a valid policy (see policy-eval.ts);
 * - `context`, if present, must be a flat object whose values are strings, numbers or booleans. Objects,
 *   arrays and null are rejected (API Gateway answers 500 AuthorizerConfigurationException). The integration
 *   sees every value as a string: `42` → `"42"`, `true` → `"true"`.
 */
import { compilePolicy, type CompiledPolicy } from './policy-eval.js';

/** The authorizer's output is unusable: the gateway answers 500 AuthorizerConfigurationException. */
export class AuthorizerOutputError extends Error {
  constructor(reason: string, options?: { cause?: unknown }) {
    super(`invalid authorizer output: ${reason}`, options);
    this.name = 'AuthorizerOutputError';
  }
}

export interface AuthorizerDecision {
  readonly principalId: string;
  readonly policy: CompiledPolicy;
  /** The context as the integration receives it: every value a string. */
  readonly context: Readonly<Record<string, string>>;
}

const isRecord = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

function throughJson(output: unknown): unknown {
  let text: string | undefined;
  try {
    text = JSON.stringify(output);
  } catch (cause) {
    throw new AuthorizerOutputError('not serializable to JSON', { cause });
  }
  if (text === undefined) throw new AuthorizerOutputError('no result');
  return JSON.parse(text) as unknown;
}

function stringifyContext(context: unknown): Record<string, string> {
  if (context === undefined || context === null) return {};
  if (!isRecord(context)) throw new AuthorizerOutputError('context must be an object');
  // Object.fromEntries defines properties, so a "__proto__" key stays an ordinary key.
  return Object.fromEntries(
    Object.entries(context).map(([key, value]) => {
      if (typeof value === 'string') return [key, value];
      if (typeof value === 'number' || typeof value === 'boolean') return [key, String(value)];
      throw new AuthorizerOutputError(`context value "${key}" must be a string, number or boolean`);
    }),
  );
}

export function parseAuthorizerResult(output: unknown): AuthorizerDecision {
  const result = throughJson(output);
  if (!isRecord(result)) throw new AuthorizerOutputError('result must be an object');
  if (typeof result.principalId !== 'string') throw new AuthorizerOutputError('principalId must be a string');
  let policy: CompiledPolicy;
  try {
    policy = compilePolicy(result.policyDocument);
  } catch (cause) {
    throw new AuthorizerOutputError(cause instanceof Error ? cause.message : 'invalid policyDocument', { cause });
  }
  return { principalId: result.principalId, policy, context: stringifyContext(result.context) };
}

/**
 * Whether an authorizer failure means "401 Unauthorized": API Gateway answers 401 only when the function's
 * error message is exactly `Unauthorized` (thrown Error or thrown string); anything else is a 500.
 */
export function isUnauthorizedSignal(error: unknown): boolean {
  if (typeof error === 'string') return error === 'Unauthorized';
  return isRecord(error) && error.message === 'Unauthorized';
}
