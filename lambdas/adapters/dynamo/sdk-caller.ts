/**
 * The stores' DynamoCaller over the AWS SDK's modular DynamoDBClient: every Lambda, `npm start` and the admin
 * CLI. One client per cold start (the caller of createDynamoClient keeps it), bundled with the function.
 *
 * - Credentials: the SDK's default chain (a Lambda function's role from its environment, profiles/SSO for the
 *   admin CLI). Only the embedded store (`endpoint` given) gets fixed local credentials.
 * - Endpoint: `endpoint` for the embedded store; otherwise the SDK resolves it itself, so
 *   `AWS_ENDPOINT_URL_DYNAMODB` / `AWS_ENDPOINT_URL` (or `endpoint_url` in the shared config) work as documented.
 * - Time: a total deadline per call (`deadlineMs`, AbortSignal.timeout passed as the SDK's `abortSignal`), which
 *   covers every attempt, the backoff between them and a body that trickles in; per attempt the HTTP handler's
 *   connection and request timeouts, so a hung attempt leaves room for a retry.
 * - Retries: the SDK's standard strategy (exponential backoff with jitter, retry quota) on throttling, 5xx and
 *   transient network errors; never on a client error such as a failed condition.
 * Errors keep the SDK's names (ConditionalCheckFailedException, …); a call that runs out of time rejects with a
 * `TimeoutError`. The stores turn both into DependencyUnavailableError (`guarded`), so callers fail closed.
 */
import {
  BatchGetItemCommand,
  CreateTableCommand,
  DeleteItemCommand,
  DescribeTableCommand,
  DynamoDBClient,
  GetItemCommand,
  ListTablesCommand,
  PutItemCommand,
  QueryCommand,
  ScanCommand,
  UpdateItemCommand,
} from '@aws-sdk/client-dynamodb';
import { DEFAULT_STORE_DEADLINE_MS } from '../../core/config.js';
import type { DynamoCaller, DynamoOperation } from './client.js';

type AnyCommand = new (input: never) => Parameters<DynamoDBClient['send']>[0];
const COMMANDS: Record<DynamoOperation, AnyCommand> = {
  GetItem: GetItemCommand as unknown as AnyCommand,
  PutItem: PutItemCommand as unknown as AnyCommand,
  UpdateItem: UpdateItemCommand as unknown as AnyCommand,
  DeleteItem: DeleteItemCommand as unknown as AnyCommand,
  Query: QueryCommand as unknown as AnyCommand,
  Scan: ScanCommand as unknown as AnyCommand,
  BatchGetItem: BatchGetItemCommand as unknown as AnyCommand,
  DescribeTable: DescribeTableCommand as unknown as AnyCommand,
  CreateTable: CreateTableCommand as unknown as AnyCommand,
  ListTables: ListTablesCommand as unknown as AnyCommand,
};

export interface SdkCallerConfig {
  region: string;
  /** The embedded store. Absent: the SDK's own endpoint resolution (AWS_ENDPOINT_URL_DYNAMODB, then regional). */
  endpoint?: string;
  /** Total time per call, every attempt and backoff included. @default DEFAULT_STORE_DEADLINE_MS (2000) */
  deadlineMs?: number;
  /** Attempts per call (first try included), within the deadline. @default 3 */
  maxAttempts?: number;
}

/** A store call that did not finish within its deadline (the SDK's own abort error is its `cause`). */
export class StoreDeadlineError extends Error {
  constructor(operation: string, deadlineMs: number, options?: ErrorOptions) {
    super(`${operation}: no answer within ${deadlineMs} ms`, options);
    this.name = 'TimeoutError';
  }
}

/** Credentials for the embedded store, which accepts any. */
const LOCAL_CREDENTIALS = { accessKeyId: 'local', secretAccessKey: 'local' };

export function createSdkDynamoCaller(cfg: SdkCallerConfig): DynamoCaller {
  const deadlineMs = cfg.deadlineMs ?? DEFAULT_STORE_DEADLINE_MS;
  // Half the deadline per attempt: a hung first attempt still leaves time for a second one.
  const attemptMs = Math.max(25, Math.floor(deadlineMs / 2));
  const client = new DynamoDBClient({
    region: cfg.region,
    retryMode: 'standard',
    maxAttempts: cfg.maxAttempts ?? 3,
    requestHandler: {
      connectionTimeout: Math.min(1000, attemptMs),
      requestTimeout: attemptMs,
      throwOnRequestTimeout: true,
      socketTimeout: attemptMs,
    },
    ...(cfg.endpoint ? { endpoint: cfg.endpoint, credentials: LOCAL_CREDENTIALS } : {}),
  });
  return {
    call: async <T>(operation: DynamoOperation, input: object, options?: { abortSignal?: AbortSignal }): Promise<T> => {
      const deadline = AbortSignal.timeout(deadlineMs);
      const abortSignal = options?.abortSignal ? AbortSignal.any([deadline, options.abortSignal]) : deadline;
      try {
        return (await client.send(new COMMANDS[operation](input as never), { abortSignal })) as T;
      } catch (err) {
        if (deadline.aborted) throw new StoreDeadlineError(operation, deadlineMs, { cause: err });
        throw err;
      }
    },
    destroy: () => client.destroy(),
  };
}
