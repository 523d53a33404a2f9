/** The real embedded DynamoDB-compatible store (dynalite, in memory) with our table, for a test file. */
import { createDynamoClient, type DynamoTarget } from '../../lambdas/adapters/dynamo/client.js';
import { ensureTable } from '../../lambdas/adapters/dynamo/table.js';
import { startEmbeddedDynamo } from '../../lib/local/dynamo-server.js';

export interface TestTable extends DynamoTarget {
  endpoint: string;
  close(): Promise<void>;
}

export async function startTestTable(tableName = 'tokengate-test'): Promise<TestTable> {
  const server = await startEmbeddedDynamo();
  // A generous deadline: these tests check what the stores do, not how long the embedded store takes on a busy
  // machine (test/integration/dynamo-client.test.ts tests the deadline itself).
  const client = createDynamoClient({ region: 'local', endpoint: server.endpoint, deadlineMs: 15_000 });
  await ensureTable(client, tableName);
  return {
    client,
    tableName,
    endpoint: server.endpoint,
    close: async () => {
      client.destroy();
      await server.close();
    },
  };
}
