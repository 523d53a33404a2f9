/**
 * The DynamoDB seam of the stores: one call per operation, with the request and answer shapes of the DynamoDB
 * API, implemented over @aws-sdk/client-dynamodb (sdk-caller.ts) for the Lambdas, `npm start` and the admin CLI.
 * Tests put a proxy in front of it (e.g. one that delays). Plus the attribute helpers the stores share.
 */
import type { AttributeValue } from '@aws-sdk/client-dynamodb';
import { DependencyUnavailableError } from '../../core/errors.js';
import { createSdkDynamoCaller, type SdkCallerConfig } from './sdk-caller.js';

export type DynamoOperation =
  | 'GetItem'
  | 'PutItem'
  | 'UpdateItem'
  | 'DeleteItem'
  | 'Query'
  | 'Scan'
  | 'BatchGetItem'
  | 'DescribeTable'
  | 'CreateTable'
  | 'ListTables';

export interface DynamoCaller {
  /** Sends `input` as `operation`; rejects with an error whose `name` is DynamoDB's error type. */
  call<T = DynamoOutput>(operation: DynamoOperation, input: object, options?: { abortSignal?: AbortSignal }): Promise<T>;
  /** Closes idle connections. */
  destroy(): void;
}

export interface DynamoTarget {
  client: DynamoCaller;
  tableName: string;
}

/** The parts of DynamoDB's answers the stores read. */
export interface DynamoOutput {
  Item?: Item;
  Items?: Item[];
  Attributes?: Item;
  LastEvaluatedKey?: Item;
}

/**
 * The stores' client, one per cold start: the SDK's DynamoDBClient with a total deadline per call, standard
 * retries and the SDK's credential chain and endpoint settings (see sdk-caller.ts).
 */
export function createDynamoClient(cfg: SdkCallerConfig): DynamoCaller {
  return createSdkDynamoCaller(cfg);
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

/**
 * Runs a store call; SDK failures (errors, throttling after the retries, the deadline) become
 * DependencyUnavailableError with the cause chained, so the caller fails closed. A failed condition stays as is.
 */
export async function guarded<T>(what: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    if (isConditionFailed(err)) throw err;
    throw new DependencyUnavailableError(`store unavailable: ${what} (${(err as Error)?.name ?? 'error'})`, { cause: err });
  }
}
