/**
 * ThrottleStore over DynamoDB: one item per counter and window, `THROTTLE#<counter>` / `W#<window>`, holding
 * the string sets `held` (attempt ids with a slot) and `failed`.
 *
 * Every write is safe to retry after a lost answer, without reading first: adding an id to a set that has it,
 * or deleting one that is gone, changes nothing; and the reservation's condition lets an attempt that already
 * holds its slot through again. So a write the client retries is counted once.
 */
import type { ThrottleCounter, ThrottleStore } from '../../core/ports.js';
import { type DynamoTarget, type Item, guarded, isConditionFailed, key, N, names, ttlSeconds } from './client.js';
import { throttleKeyOf } from './keys.js';

const ids = (item: Item | undefined, name: string): string[] => [...(item?.[name]?.SS ?? [])].sort();

export class DynamoThrottleStore implements ThrottleStore {
  constructor(private readonly t: DynamoTarget) {}

  private k(counter: string, window: number): Item {
    const { pk, sk } = throttleKeyOf(counter, window);
    return key(pk, sk);
  }

  async reserve(counter: string, window: number, attemptId: string, limit: number, expiresAt: number): Promise<boolean> {
    try {
      await guarded('reserve login attempt', () =>
        this.t.client.call('UpdateItem', {
          TableName: this.t.tableName,
          Key: this.k(counter, window),
          UpdateExpression: 'ADD #held :ids SET #expiresAt = :ttl',
          ConditionExpression: 'attribute_not_exists(#held) OR size(#held) < :limit OR contains(#held, :id)',
          ExpressionAttributeNames: names('#held #expiresAt'),
          ExpressionAttributeValues: { ':ids': { SS: [attemptId] }, ':id': { S: attemptId }, ':limit': N(limit), ':ttl': N(ttlSeconds(expiresAt)) },
        }),
      );
      return true;
    } catch (err) {
      if (isConditionFailed(err)) return false;
      throw err;
    }
  }

  async release(counter: string, window: number, attemptId: string): Promise<void> {
    await this.ifHeld('release login attempt', counter, window, attemptId, 'DELETE #held :ids');
  }

  async markFailed(counter: string, window: number, attemptId: string): Promise<void> {
    await this.ifHeld('record login failure', counter, window, attemptId, 'ADD #failed :ids');
  }

  async get(counter: string, window: number): Promise<ThrottleCounter> {
    const out = await guarded('get login throttle', () =>
      this.t.client.call('GetItem', { TableName: this.t.tableName, Key: this.k(counter, window), ConsistentRead: true }),
    );
    return { held: ids(out.Item, 'held'), failed: ids(out.Item, 'failed') };
  }

  /** An update that applies only while the attempt holds its slot (so it never creates an item); a no-op otherwise. */
  private async ifHeld(what: string, counter: string, window: number, attemptId: string, update: string): Promise<void> {
    try {
      await guarded(what, () =>
        this.t.client.call('UpdateItem', {
          TableName: this.t.tableName,
          Key: this.k(counter, window),
          UpdateExpression: update,
          ConditionExpression: 'contains(#held, :id)',
          ExpressionAttributeNames: names(update, '#held'),
          ExpressionAttributeValues: { ':ids': { SS: [attemptId] }, ':id': { S: attemptId } },
        }),
      );
    } catch (err) {
      if (!isConditionFailed(err)) throw err;
    }
  }
}
