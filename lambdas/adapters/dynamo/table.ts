/** Creates a table where it does not exist yet: local mode and tests (the CDK stack owns tables in the cloud). */
import type { DynamoCaller } from './client.js';

const named = (err: unknown, name: string): boolean => (err as { name?: string })?.name === name;

/** A key schema of string attributes. */
export interface KeySchema {
  readonly partitionKey: string;
  readonly sortKey?: string;
}

/** tokengate's own table: `pk` / `sk`. */
export const TOKENGATE_KEYS: KeySchema = { partitionKey: 'pk', sortKey: 'sk' };

/** Creates the table unless it exists, and waits until it is ACTIVE; 'created' when this call made it. */
export async function ensureTable(client: DynamoCaller, tableName: string, keys: KeySchema = TOKENGATE_KEYS): Promise<'created' | 'existed'> {
  try {
    await client.call('DescribeTable', { TableName: tableName });
    return 'existed';
  } catch (err) {
    if (!named(err, 'ResourceNotFoundException')) throw err;
  }
  const schema = [{ name: keys.partitionKey, type: 'HASH' }, ...(keys.sortKey ? [{ name: keys.sortKey, type: 'RANGE' }] : [])];
  try {
    await client.call('CreateTable', {
      TableName: tableName,
      AttributeDefinitions: schema.map((k) => ({ AttributeName: k.name, AttributeType: 'S' })),
      KeySchema: schema.map((k) => ({ AttributeName: k.name, KeyType: k.type })),
      BillingMode: 'PAY_PER_REQUEST',
    });
  } catch (err) {
    if (named(err, 'ResourceInUseException')) return 'existed';
    throw err;
  }
  // The embedded store creates tables asynchronously; wait until ACTIVE.
  for (let i = 0; i < 200; i++) {
    const d = await client.call<{ Table?: { TableStatus?: string } }>('DescribeTable', { TableName: tableName });
    if (d.Table?.TableStatus === 'ACTIVE') return 'created';
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error(`table ${tableName} did not become ACTIVE`);
}
