/**
 * The sample app's tables (examples/shop/app.ts) in an embedded store of their own, created from the app
 * declaration as `npm start` creates them, with the sample stores over a plain SDK DynamoDBClient.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import shop from '../../examples/shop/app.js';
import { InventoryStore } from '../../examples/shop/inventory/store.js';
import { OrdersStore } from '../../examples/shop/orders/store.js';
import { createDynamoClient } from '../../lambdas/adapters/dynamo/client.js';
import { ensureServiceTable } from '../../lib/local/app-services.js';
import { startEmbeddedDynamo } from '../../lib/local/dynamo-server.js';

export interface ShopTables {
  client: DynamoDBClient;
  orders: OrdersStore;
  inventory: InventoryStore;
  close(): Promise<void>;
}

export async function startShopTables(): Promise<ShopTables> {
  const server = await startEmbeddedDynamo();
  const admin = createDynamoClient({ region: 'local', endpoint: server.endpoint });
  try {
    await ensureServiceTable(admin, 'orders', shop.services.orders.tables!.ORDERS_TABLE!);
    await ensureServiceTable(admin, 'inventory', shop.services.inventory.tables!.INVENTORY_TABLE!);
  } finally {
    admin.destroy();
  }
  const client = new DynamoDBClient({ region: 'local', endpoint: server.endpoint, credentials: { accessKeyId: 'local', secretAccessKey: 'local' } });
  return {
    client,
    orders: new OrdersStore(client, 'orders'),
    inventory: new InventoryStore(client, 'inventory'),
    close: async () => {
      client.destroy();
      await server.close();
    },
  };
}
