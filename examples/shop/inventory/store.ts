/**
 * The inventory service's own table (INVENTORY_TABLE, declared in ../app.ts): one item per sku,
 * `{ sku, available, reservations: { <id>: { quantity, by, reservedAt } } }`.
 *
 * A reservation is ONE conditional UpdateItem: `available >= quantity` and no reservation with this id yet,
 * then `available -= quantity` and the reservation recorded, together. So stock never goes below zero however
 * many reservations race, and a retried reservation (same id: the caller's `reference`) is found, not made
 * twice. (A sample keeps its reservations in the stock item; a real inventory would give them items of their
 * own, written in a transaction with the stock, to stay clear of DynamoDB's 400 KB item limit.)
 */
import { type AttributeValue, type DynamoDBClient, GetItemCommand, PutItemCommand, UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import { DependencyUnavailableError } from '../../../service/index.js';

export interface Reservation {
  id: string;
  sku: string;
  quantity: number;
  /** The user who reserved (the caller's `sub`: with a forwarded token, the end user). */
  by: string;
  reservedAt: number;
}

export type ReserveOutcome =
  | { ok: true; reservation: Reservation; available: number; replayed: boolean }
  | { ok: false; reason: 'unknown_sku' }
  | { ok: false; reason: 'insufficient_stock'; available: number }
  | { ok: false; reason: 'id_taken' };

type Item = Record<string, AttributeValue>;

const isConditionFailed = (err: unknown): boolean => (err as Error)?.name === 'ConditionalCheckFailedException';

async function guarded<T>(what: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    if (isConditionFailed(err)) throw err;
    throw new DependencyUnavailableError(`inventory table: ${what} failed (${(err as Error)?.name ?? 'error'})`, { cause: err });
  }
}

const reservationFrom = (sku: string, id: string, v: AttributeValue | undefined): Reservation | undefined => {
  const m = v?.M;
  return m ? { id, sku, quantity: Number(m.quantity?.N ?? 0), by: m.by?.S ?? '', reservedAt: Number(m.reservedAt?.N ?? 0) } : undefined;
};

export class InventoryStore {
  constructor(
    private readonly client: DynamoDBClient,
    private readonly tableName: string,
  ) {}

  private async read(sku: string): Promise<Item | undefined> {
    const out = await guarded('get', () =>
      this.client.send(new GetItemCommand({ TableName: this.tableName, Key: { sku: { S: sku } }, ConsistentRead: true })),
    );
    return out.Item;
  }

  /** Stock available now, or undefined for an unknown sku. */
  async available(sku: string): Promise<number | undefined> {
    const item = await this.read(sku);
    return item ? Number(item.available?.N ?? 0) : undefined;
  }

  async reserve(sku: string, r: { id: string; quantity: number; by: string; reservedAt: number }): Promise<ReserveOutcome> {
    try {
      const out = await guarded('reserve', () =>
        this.client.send(
          new UpdateItemCommand({
            TableName: this.tableName,
            Key: { sku: { S: sku } },
            UpdateExpression: 'SET #available = #available - :q, #reservations.#id = :r',
            ConditionExpression: 'attribute_exists(#sku) AND #available >= :q AND attribute_not_exists(#reservations.#id)',
            ExpressionAttributeNames: { '#available': 'available', '#reservations': 'reservations', '#sku': 'sku', '#id': r.id },
            ExpressionAttributeValues: {
              ':q': { N: String(r.quantity) },
              ':r': { M: { quantity: { N: String(r.quantity) }, by: { S: r.by }, reservedAt: { N: String(r.reservedAt) } } },
            },
            ReturnValues: 'UPDATED_NEW',
          }),
        ),
      );
      return { ok: true, reservation: { id: r.id, sku, quantity: r.quantity, by: r.by, reservedAt: r.reservedAt }, available: Number(out.Attributes?.available?.N ?? 0), replayed: false };
    } catch (err) {
      if (!isConditionFailed(err)) throw err;
    }
    // Which condition failed: read the item (a failed condition writes nothing).
    const item = await this.read(sku);
    if (!item) return { ok: false, reason: 'unknown_sku' };
    const available = Number(item.available?.N ?? 0);
    const existing = reservationFrom(sku, r.id, item.reservations?.M?.[r.id]);
    if (existing) {
      // The same reservation again (a retry whose first answer was lost): the one already made.
      if (existing.by === r.by && existing.quantity === r.quantity) return { ok: true, reservation: existing, available, replayed: true };
      return { ok: false, reason: 'id_taken' };
    }
    return { ok: false, reason: 'insufficient_stock', available };
  }

  /** Demo data: creates the sku with `available` unless it exists. */
  async addSku(sku: string, available: number): Promise<void> {
    try {
      await guarded('add sku', () =>
        this.client.send(
          new PutItemCommand({
            TableName: this.tableName,
            Item: { sku: { S: sku }, available: { N: String(available) }, reservations: { M: {} } },
            ConditionExpression: 'attribute_not_exists(#sku)',
            ExpressionAttributeNames: { '#sku': 'sku' },
          }),
        ),
      );
    } catch (err) {
      if (!isConditionFailed(err)) throw err;
    }
  }
}
