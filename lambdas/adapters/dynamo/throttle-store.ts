/** ThrottleStore over DynamoDB: THROTTLE#<name> / META, updated with atomic ADD. */
import { DependencyUnavailableError } from '../../core/errors.js';
import type { ThrottleRecord, ThrottleStore } from '../../core/ports.js';
import { type DynamoTarget, type Item, guarded, isConditionFailed, key, N, names, num, ttlSeconds } from './client.js';
import { throttleKeyOf } from './keys.js';

const fromItem = (k: string, item: Item): ThrottleRecord => ({
  key: k,
  failures: num(item, 'failures') ?? 0,
  lockedUntil: num(item, 'lockedUntil') ?? 0,
  expiresAt: num(item, 'expiresAtMs') ?? 0,
});

export class DynamoThrottleStore implements ThrottleStore {
  constructor(private readonly t: DynamoTarget) {}

  private k(name: string): Item {
    const { pk, sk } = throttleKeyOf(name);
    return key(pk, sk);
  }

  async get(name: string): Promise<ThrottleRecord | undefined> {
    const out = await guarded('get throttle', () =>
      this.t.client.call('GetItem', { TableName: this.t.tableName, Key: this.k(name), ConsistentRead: true }),
    );
    if (!out.Item) return undefined;
    return fromItem(name, out.Item);
  }

  async recordFailure(name: string, now: number, forgetAfterMs: number): Promise<ThrottleRecord> {
    const expiresAt = now + forgetAfterMs;
    const values = { ':one': N(1), ':e': N(expiresAt), ':ttl': N(ttlSeconds(expiresAt)), ':now': N(now) };
    const send = (fresh: boolean) =>
      guarded('record failure', () =>
        this.t.client.call('UpdateItem', {
            TableName: this.t.tableName,
            Key: this.k(name),
            // Counting continues only on a record that has not expired (real DynamoDB deletes expired items
            // lazily, the embedded store never): an expired record starts over at one failure, unlocked.
            UpdateExpression: fresh
              ? 'SET #failures = :one, #lockedUntil = :zero, #expiresAtMs = :e, #expiresAt = :ttl'
              : 'ADD #failures :one SET #expiresAtMs = :e, #expiresAt = :ttl',
            ConditionExpression: fresh ? 'attribute_exists(#pk) AND #expiresAtMs <= :now' : 'attribute_not_exists(#pk) OR #expiresAtMs > :now',
            ExpressionAttributeNames: fresh ? names('#failures #lockedUntil #expiresAtMs #expiresAt #pk') : names('#failures #expiresAtMs #expiresAt #pk'),
            ExpressionAttributeValues: fresh ? { ...values, ':zero': N(0) } : values,
            ReturnValues: 'ALL_NEW',
          },
        ),
      );
    for (let attempt = 0; attempt < 3; attempt++) {
      try {
        const out = await send(attempt % 2 === 1);
        return fromItem(name, out.Attributes ?? {});
      } catch (err) {
        if (!isConditionFailed(err)) throw err;
      }
    }
    throw new DependencyUnavailableError('record failure: too much contention');
  }

  async lock(name: string, until: number): Promise<void> {
    await guarded('lock', () =>
      this.t.client.call('UpdateItem', {
          TableName: this.t.tableName,
          Key: this.k(name),
          UpdateExpression: 'SET #lockedUntil = :u',
          ExpressionAttributeNames: names('#lockedUntil'),
          ExpressionAttributeValues: { ':u': N(until) },
        },
      ),
    );
  }

  async clear(name: string): Promise<void> {
    await guarded('clear throttle', () =>
      this.t.client.call('DeleteItem', { TableName: this.t.tableName, Key: this.k(name) }),
    );
  }
}
