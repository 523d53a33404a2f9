/** Creates the table where it does not exist yet: local mode and tests (the CDK stack owns it in the cloud). */
import type { DynamoCaller } from './client.js';

const named = (err: unknown, name: string): boolean => (err as { name?: string })?.name === name;

export async function ensureTable(client: DynamoCaller, tableName: string): Promise<'created' | 'existed'> {
  try {
    await client.call('DescribeTable', { TableName: tableName });
    return 'existed';
  } catch (err) {
    if (!named(err, 'ResourceNotFoundException')) throw err;
  }
  try {
    await client.call('CreateTable', {
      TableName: tableName,
      AttributeDefinitions: [
        { AttributeName: 'pk', AttributeType: 'S' },
        { AttributeName: 'sk', AttributeType: 'S' },
      ],
      KeySchema: [
        { AttributeName: 'pk', KeyType: 'HASH' },
        { AttributeName: 'sk', KeyType: 'RANGE' },
      ],
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
