/** One DynamoDB client per cold start, plus the small attribute helpers the stores share. */
import { DynamoDBClient, type AttributeValue } from '@aws-sdk/client-dynamodb';
import { DependencyUnavailableError } from '../../core/errors.js';

export interface DynamoTarget {
  client: DynamoDBClient;
  tableName: string;
}

export function createDynamoClient(cfg: { region: string; endpoint?: string }): DynamoDBClient {
  return new DynamoDBClient({
    region: cfg.region,
    maxAttempts: 2,
    ...(cfg.endpoint
      ? // The embedded store accepts any credentials; fixed ones keep local mode independent of ~/.aws.
        { endpoint: cfg.endpoint, credentials: { accessKeyId: 'local', secretAccessKey: 'local' } }
      : {}),
  });
}

export type Item = Record<string, AttributeValue>;

export const S = (v: string): AttributeValue => ({ S: v });
export const N = (v: number): AttributeValue => ({ N: String(v) });
export const L = (v: readonly string[]): AttributeValue => ({ L: v.map(S) });

export const str = (item: Item, name: string): string | undefined => item[name]?.S;
export const num = (item: Item, name: string): number | undefined => {
  const n = item[name]?.N;
  return n === undefined ? undefined : Number(n);
};
export const list = (item: Item, name: string): string[] => (item[name]?.L ?? []).flatMap((a) => (a.S === undefined ? [] : [a.S]));

/** DynamoDB's TTL wants epoch seconds; the domain works in ms. */
export const ttlSeconds = (ms: number): number => Math.ceil(ms / 1000);

export const key = (pk: string, sk: string): Item => ({ pk: S(pk), sk: S(sk) });

export const isConditionFailed = (err: unknown): boolean =>
  (err as { name?: string })?.name === 'ConditionalCheckFailedException';

/**
 * ExpressionAttributeNames for every `#name` in the given expressions (`#status` → `status`): DynamoDB has
 * hundreds of reserved words (status, permissions, owner, item…), so attribute names are always aliased.
 */
export function names(...exprs: (string | undefined)[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const e of exprs) for (const m of (e ?? '').matchAll(/#([A-Za-z_][A-Za-z0-9_]*)/g)) out[m[0]] = m[1]!;
  return out;
}

/** Runs a store call; SDK failures become DependencyUnavailableError (with the cause chained). */
export async function guarded<T>(what: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    if (isConditionFailed(err)) throw err;
    throw new DependencyUnavailableError(`store unavailable: ${what} (${(err as Error)?.name ?? 'error'})`, { cause: err });
  }
}
