/**
 * The stores' DynamoCaller over the AWS SDK: for the admin CLI against a deployed table, where the full
 * credential chain (profiles, SSO, instance roles) matters and cold start does not.
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

export function createSdkDynamoCaller(cfg: { region: string; endpoint?: string }): DynamoCaller {
  const client = new DynamoDBClient({
    region: cfg.region,
    maxAttempts: 2,
    ...(cfg.endpoint ? { endpoint: cfg.endpoint, credentials: { accessKeyId: 'local', secretAccessKey: 'local' } } : {}),
  });
  return {
    call: async <T>(operation: DynamoOperation, input: object, options?: { abortSignal?: AbortSignal }): Promise<T> =>
      (await client.send(new COMMANDS[operation](input as never), options)) as T,
    destroy: () => client.destroy(),
  };
}
