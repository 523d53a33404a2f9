/** The demo service's data: ORDERS#<sub> / ORDER#<id>. Each caller sees their own orders. */
import { type DynamoTarget, type Item, guarded, isConditionFailed, key, N, names, num, S, str } from './client.js';
import { ORDERS_PREFIX } from './keys.js';

export interface Order {
  id: string;
  owner: string;
  item: string;
  quantity: number;
  createdAt: number;
}

const fromItem = (item: Item): Order => ({
  id: str(item, 'id') ?? '',
  owner: str(item, 'owner') ?? '',
  item: str(item, 'item') ?? '',
  quantity: num(item, 'quantity') ?? 0,
  createdAt: num(item, 'createdAt') ?? 0,
});

export class DynamoOrdersStore {
  constructor(private readonly t: DynamoTarget) {}

  private k(owner: string, id: string): Item {
    return key(ORDERS_PREFIX + owner, `ORDER#${id}`);
  }

  async list(owner: string): Promise<Order[]> {
    const out = await guarded('list orders', () =>
      this.t.client.call('Query', {
          TableName: this.t.tableName,
          KeyConditionExpression: '#pk = :pk',
          ExpressionAttributeNames: names('#pk'),
          ExpressionAttributeValues: { ':pk': S(ORDERS_PREFIX + owner) },
          Limit: 100,
        },
      ),
    );
    return (out.Items ?? []).map(fromItem);
  }

  async get(owner: string, id: string): Promise<Order | undefined> {
    const out = await guarded('get order', () =>
      this.t.client.call('GetItem', { TableName: this.t.tableName, Key: this.k(owner, id) }),
    );
    return out.Item ? fromItem(out.Item) : undefined;
  }

  async put(order: Order): Promise<void> {
    await guarded('put order', () =>
      this.t.client.call('PutItem', {
          TableName: this.t.tableName,
          Item: {
            ...this.k(order.owner, order.id),
            id: S(order.id),
            owner: S(order.owner),
            item: S(order.item),
            quantity: N(order.quantity),
            createdAt: N(order.createdAt),
          },
          ConditionExpression: 'attribute_not_exists(#pk)',
          ExpressionAttributeNames: names('#pk'),
        },
      ),
    );
  }

  /** true if it existed. */
  async delete(owner: string, id: string): Promise<boolean> {
    try {
      await guarded('delete order', () =>
        this.t.client.call('DeleteItem', { TableName: this.t.tableName, Key: this.k(owner, id), ConditionExpression: 'attribute_exists(#pk)', ExpressionAttributeNames: names('#pk') },
        ),
      );
      return true;
    } catch (err) {
      if (isConditionFailed(err)) return false;
      throw err;
    }
  }
}
