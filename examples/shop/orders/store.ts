/**
 * The orders service's own table (ORDERS_TABLE, declared in ../app.ts): partition key `owner`, sort key `id`, so
 * each caller's orders are one Query. Plain @aws-sdk/client-dynamodb, as a team's service would use it. Every
 * SDK failure other than a failed condition becomes DependencyUnavailableError (the handler answers 503).
 */
import {
  ConditionalCheckFailedException,
  DeleteItemCommand,
  type DynamoDBClient,
  GetItemCommand,
  PutItemCommand,
  QueryCommand,
  UpdateItemCommand,
  type AttributeValue,
} from '@aws-sdk/client-dynamodb';
import { DependencyUnavailableError } from '../../../service/index.js';

/** What inventory answered when the order was fulfilled. */
export interface Reservation {
  id: string;
  sku: string;
  quantity: number;
  by: string;
  reservedAt: number;
}

export interface Order {
  id: string;
  owner: string;
  item: string;
  quantity: number;
  createdAt: number;
  /** Set once the order is fulfilled. */
  reservation?: Reservation;
}

type Item = Record<string, AttributeValue>;

const reservationOf = (v: AttributeValue | undefined): Reservation | undefined => {
  const m = v?.M;
  if (!m) return undefined;
  return { id: m.id?.S ?? '', sku: m.sku?.S ?? '', quantity: Number(m.quantity?.N ?? 0), by: m.by?.S ?? '', reservedAt: Number(m.reservedAt?.N ?? 0) };
};

const fromItem = (item: Item): Order => {
  const reservation = reservationOf(item.reservation);
  return {
    id: item.id?.S ?? '',
    owner: item.owner?.S ?? '',
    item: item.item?.S ?? '',
    quantity: Number(item.quantity?.N ?? 0),
    createdAt: Number(item.createdAt?.N ?? 0),
    ...(reservation ? { reservation } : {}),
  };
};

async function guarded<T>(what: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    if (err instanceof ConditionalCheckFailedException || (err as Error)?.name === 'ConditionalCheckFailedException') throw err;
    throw new DependencyUnavailableError(`orders table: ${what} failed (${(err as Error)?.name ?? 'error'})`, { cause: err });
  }
}

const isConditionFailed = (err: unknown): boolean => (err as Error)?.name === 'ConditionalCheckFailedException';

export class OrdersStore {
  constructor(
    private readonly client: DynamoDBClient,
    private readonly tableName: string,
  ) {}

  private key(owner: string, id: string): Item {
    return { owner: { S: owner }, id: { S: id } };
  }

  async list(owner: string): Promise<Order[]> {
    const out = await guarded('list', () =>
      this.client.send(
        new QueryCommand({
          TableName: this.tableName,
          KeyConditionExpression: '#owner = :owner',
          ExpressionAttributeNames: { '#owner': 'owner' },
          ExpressionAttributeValues: { ':owner': { S: owner } },
          Limit: 100,
        }),
      ),
    );
    return (out.Items ?? []).map(fromItem);
  }

  async get(owner: string, id: string): Promise<Order | undefined> {
    const out = await guarded('get', () => this.client.send(new GetItemCommand({ TableName: this.tableName, Key: this.key(owner, id), ConsistentRead: true })));
    return out.Item ? fromItem(out.Item) : undefined;
  }

  /** Creates the order; the id is new (a UUID), and a retried write that already landed is the same order. */
  async put(order: Order): Promise<void> {
    const item: Item = {
      ...this.key(order.owner, order.id),
      item: { S: order.item },
      quantity: { N: String(order.quantity) },
      createdAt: { N: String(order.createdAt) },
    };
    try {
      await guarded('put', () =>
        this.client.send(
          new PutItemCommand({ TableName: this.tableName, Item: item, ConditionExpression: 'attribute_not_exists(#id)', ExpressionAttributeNames: { '#id': 'id' } }),
        ),
      );
    } catch (err) {
      if (!isConditionFailed(err)) throw err;
      // The SDK retried a write whose answer was lost: the item is there, and it is ours.
      const existing = await this.get(order.owner, order.id);
      if (existing?.createdAt !== order.createdAt) throw new DependencyUnavailableError('orders table: order id collision', { cause: err });
    }
  }

  /** true if it existed. */
  async delete(owner: string, id: string): Promise<boolean> {
    try {
      await guarded('delete', () =>
        this.client.send(
          new DeleteItemCommand({ TableName: this.tableName, Key: this.key(owner, id), ConditionExpression: 'attribute_exists(#id)', ExpressionAttributeNames: { '#id': 'id' } }),
        ),
      );
      return true;
    } catch (err) {
      if (isConditionFailed(err)) return false;
      throw err;
    }
  }

  /** Records the reservation on the order (idempotent: the same reservation may be written twice); false if the order is gone. */
  async setReservation(owner: string, id: string, r: Reservation): Promise<boolean> {
    try {
      await guarded('set reservation', () =>
        this.client.send(
          new UpdateItemCommand({
            TableName: this.tableName,
            Key: this.key(owner, id),
            UpdateExpression: 'SET #reservation = :r',
            ConditionExpression: 'attribute_exists(#id)',
            ExpressionAttributeNames: { '#reservation': 'reservation', '#id': 'id' },
            ExpressionAttributeValues: {
              ':r': {
                M: { id: { S: r.id }, sku: { S: r.sku }, quantity: { N: String(r.quantity) }, by: { S: r.by }, reservedAt: { N: String(r.reservedAt) } },
              },
            },
          }),
        ),
      );
      return true;
    } catch (err) {
      if (isConditionFailed(err)) return false;
      throw err;
    }
  }
}
