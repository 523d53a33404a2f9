/**
 * SessionStore over DynamoDB: SESSION#<sid> / META and REFRESH#<sha256> / META.
 * Every change is a single conditional write; the rules live in the condition expressions.
 *
 * Every write is safe to retry. The DynamoDB client retries a write whose answer was lost (a timeout, a
 * dropped connection) although the first attempt may have been applied; the repeat then fails its condition
 * because of our own first write. So a condition failure is never taken at face value: the item is read back
 * and, if it is exactly what this call wrote (a new item equal to ours, a claim carrying this call's random
 * claim id, a session moved to our new token's hash), the write counts as done.
 */
import { randomBytes } from 'node:crypto';
import type { AttributeValue } from '@aws-sdk/client-dynamodb';
import { AlreadyExistsError } from '../../core/errors.js';
import type { RefreshTokenRecord, SessionRecord, SessionStore } from '../../core/ports.js';
import { type DynamoTarget, type Item, guarded, isConditionFailed, key, N, names, num, S, str, ttlSeconds } from './client.js';
import { refreshKey, sessionKey } from './keys.js';

export function sessionFromItem(item: Item): SessionRecord | undefined {
  const sid = str(item, 'sid');
  const username = str(item, 'username');
  if (sid === undefined || username === undefined) return undefined;
  const revokedAt = num(item, 'revokedAt');
  return {
    sid,
    username,
    createdAt: num(item, 'createdAt') ?? 0,
    expiresAt: num(item, 'expiresAtMs') ?? 0,
    generation: num(item, 'generation') ?? 0,
    refreshHash: str(item, 'refreshHash') ?? '',
    ...(revokedAt !== undefined ? { revokedAt } : {}),
  };
}

function refreshFromItem(hash: string, item: Item): RefreshTokenRecord | undefined {
  const sid = str(item, 'sid');
  if (sid === undefined) return undefined;
  const usedAt = num(item, 'usedAt');
  return {
    hash,
    sid,
    generation: num(item, 'generation') ?? 0,
    expiresAt: num(item, 'expiresAtMs') ?? 0,
    ...(usedAt !== undefined ? { usedAt } : {}),
  };
}

/** Same attributes with the same values (numbers compared as numbers: the store may normalise their text). */
function sameItem(a: Item, b: Item): boolean {
  const keys = Object.keys(a);
  if (keys.length !== Object.keys(b).length) return false;
  return keys.every((k) => sameValue(a[k], b[k]));
}

function sameValue(a: AttributeValue | undefined, b: AttributeValue | undefined): boolean {
  if (a === undefined || b === undefined) return false;
  if (a.N !== undefined || b.N !== undefined) return a.N !== undefined && b.N !== undefined && Number(a.N) === Number(b.N);
  if (a.S !== undefined || b.S !== undefined) return a.S === b.S;
  return JSON.stringify(a) === JSON.stringify(b);
}

export class DynamoSessionStore implements SessionStore {
  constructor(private readonly t: DynamoTarget) {}

  private sKey(sid: string): Item {
    const k = sessionKey(sid);
    return key(k.pk, k.sk);
  }

  private rKey(hash: string): Item {
    const k = refreshKey(hash);
    return key(k.pk, k.sk);
  }

  private async getItem(what: string, k: Item): Promise<Item | undefined> {
    const out = await guarded(what, () =>
      this.t.client.call('GetItem', { TableName: this.t.tableName, Key: k, ConsistentRead: true }),
    );
    return out.Item;
  }

  /** Creates `item` if its key is new; an existing item equal to it is our own earlier attempt (done). */
  private async putNew(what: string, item: Item): Promise<void> {
    try {
      await guarded(what, () =>
        this.t.client.call('PutItem', {
            TableName: this.t.tableName,
            Item: item,
            ConditionExpression: 'attribute_not_exists(#pk)',
            ExpressionAttributeNames: names('#pk'),
          },
        ),
      );
    } catch (err) {
      if (!isConditionFailed(err)) throw err;
      const existing = await this.getItem(what, { pk: item.pk!, sk: item.sk! });
      if (existing !== undefined && sameItem(existing, item)) return; // a retry of our own write
      throw new AlreadyExistsError(`${what}: key exists`, { cause: err });
    }
  }

  private refreshItem(r: RefreshTokenRecord): Item {
    return {
      ...this.rKey(r.hash),
      sid: S(r.sid),
      generation: N(r.generation),
      expiresAtMs: N(r.expiresAt),
      expiresAt: N(ttlSeconds(r.expiresAt)),
    };
  }

  async create(session: SessionRecord, refresh: RefreshTokenRecord): Promise<void> {
    // Both writes at once (one round trip of latency). Either may fail alone without harm: a session
    // without its token is unusable and expires; a token without its session is refused at refresh
    // ("the session has ended"). Nothing is handed to the client unless both succeeded.
    const sessionItem: Item = {
      ...this.sKey(session.sid),
      sid: S(session.sid),
      username: S(session.username),
      createdAt: N(session.createdAt),
      expiresAtMs: N(session.expiresAt),
      expiresAt: N(ttlSeconds(session.expiresAt)),
      generation: N(session.generation),
      refreshHash: S(session.refreshHash),
    };
    await Promise.all([
      this.putNew('create session', sessionItem),
      this.putNew('create refresh token', this.refreshItem(refresh)),
    ]);
  }

  async getSession(sid: string): Promise<SessionRecord | undefined> {
    const item = await this.getItem('get session', this.sKey(sid));
    return item ? sessionFromItem(item) : undefined;
  }

  async getRefreshToken(hash: string): Promise<RefreshTokenRecord | undefined> {
    const item = await this.getItem('get refresh token', this.rKey(hash));
    return item ? refreshFromItem(hash, item) : undefined;
  }

  async claimRefreshToken(hash: string, at: number): Promise<boolean> {
    // Who claims: random per call (one exchange), the same in every retry of this call's request.
    const claimId = randomBytes(16).toString('base64url');
    try {
      await guarded('claim refresh token', () =>
        this.t.client.call('UpdateItem', {
            TableName: this.t.tableName,
            Key: this.rKey(hash),
            UpdateExpression: 'SET #usedAt = :at, #claimId = :claim',
            ConditionExpression: 'attribute_exists(#pk) AND attribute_not_exists(#usedAt)',
            ExpressionAttributeNames: names('#usedAt #claimId #pk'),
            ExpressionAttributeValues: { ':at': N(at), ':claim': S(claimId) },
          },
        ),
      );
      return true;
    } catch (err) {
      if (!isConditionFailed(err)) throw err;
      const current = await this.getItem('claim refresh token', this.rKey(hash));
      return current !== undefined && str(current, 'claimId') === claimId; // our own claim, retried
    }
  }

  async rotate(sid: string, from: number, next: RefreshTokenRecord, now: number): Promise<boolean> {
    // The new token's record first: until the session points at it, it is unreachable (never handed out).
    await this.putNew('store rotated refresh token', this.refreshItem(next));
    try {
      await guarded('rotate session', () =>
        this.t.client.call('UpdateItem', {
            TableName: this.t.tableName,
            Key: this.sKey(sid),
            UpdateExpression: 'SET #generation = :next, #refreshHash = :h',
            // Only a live session moves on: never hand out tokens of a session revoked or expired meanwhile.
            ConditionExpression:
              'attribute_exists(#pk) AND #generation = :from AND attribute_not_exists(#revokedAt) AND #expiresAtMs > :now',
            ExpressionAttributeNames: names('#generation #refreshHash #pk #revokedAt #expiresAtMs'),
            ExpressionAttributeValues: { ':from': N(from), ':next': N(from + 1), ':h': S(next.hash), ':now': N(now) },
          },
        ),
      );
      return true;
    } catch (err) {
      if (!isConditionFailed(err)) throw err;
      // Our own earlier attempt moved it already: the session is one further and points at OUR new token
      // (a fresh random hash nobody else can write).
      const current = await this.getItem('rotate session', this.sKey(sid));
      return current !== undefined && num(current, 'generation') === from + 1 && str(current, 'refreshHash') === next.hash;
    }
  }

  async revoke(sid: string, at: number): Promise<void> {
    try {
      await guarded('revoke session', () =>
        this.t.client.call('UpdateItem', {
            TableName: this.t.tableName,
            Key: this.sKey(sid),
            UpdateExpression: 'SET #revokedAt = :at',
            ExpressionAttributeNames: names('#revokedAt #pk'),
            // Keep the first revocation time; a missing session is already as revoked as it gets.
            ConditionExpression: 'attribute_exists(#pk) AND attribute_not_exists(#revokedAt)',
            ExpressionAttributeValues: { ':at': N(at) },
          },
        ),
      );
    } catch (err) {
      if (!isConditionFailed(err)) throw err;
    }
  }
}
