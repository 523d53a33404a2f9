/**
 * `npm start` only (declared as the inventory service's `localSeed` in ../app.ts, never deployed): the demo
 * stock, written once when the local runner has just created the inventory table. Existing skus are left alone.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { InventoryStore } from './store.js';

export const DEMO_STOCK: Readonly<Record<string, number>> = { tea: 100, coffee: 5 };

export default async function seed(env: Readonly<Record<string, string>>): Promise<void> {
  const table = env.INVENTORY_TABLE;
  if (!table) throw new Error('INVENTORY_TABLE is not set');
  const dynamo = new DynamoDBClient({});
  try {
    const store = new InventoryStore(dynamo, table);
    for (const [sku, available] of Object.entries(DEMO_STOCK)) await store.addSku(sku, available);
  } finally {
    dynamo.destroy();
  }
}
