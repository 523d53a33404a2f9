/**
 * SessionStore over DynamoDB: SESSION#<sid> / META and REFRESH#<sha256> / META.
 * Every change is a single conditional write; the rules live in the condition expressions.
 */
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
      if (isConditionFailed(err)) throw new AlreadyExistsError(`${what}: key exists`, { cause: err });
      throw err;
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
    const out = await guarded('get session', () =>
      this.t.client.call('GetItem', { TableName: this.t.tableName, Key: this.sKey(sid), ConsistentRead: true }),
    );
    return out.Item ? sessionFromItem(out.Item) : undefined;
  }

  async getRefreshToken(hash: string): Promise<RefreshTokenRecord | undefined> {
    const out = await guarded('get refresh token', () =>
      this.t.client.call('GetItem', { TableName: this.t.tableName, Key: this.rKey(hash), ConsistentRead: true }),
    );
    return out.Item ? refreshFromItem(hash, out.Item) : undefined;
  }

  async claimRefreshToken(hash: string, at: number): Promise<boolean> {
    try {
      await guarded('claim refresh token', () =>
        this.t.client.call('UpdateItem', {
            TableName: this.t.tableName,
            Key: this.rKey(hash),
            UpdateExpression: 'SET #usedAt = :at',
            ConditionExpression: 'attribute_exists(#pk) AND attribute_not_exists(#usedAt)',
            ExpressionAttributeNames: names('#usedAt #pk'),
            ExpressionAttributeValues: { ':at': N(at) },
          },
        ),
      );
      return true;
    } catch (err) {
      if (isConditionFailed(err)) return false;
      throw err;
    }
  }

  async rotate(sid: string, from: number, next: RefreshTokenRecord): Promise<boolean> {
    // The new token's record first: until the session points at it, it is unreachable (never handed out).
    await this.putNew('store rotated refresh token', this.refreshItem(next));
    try {
      await guarded('rotate session', () =>
        this.t.client.call('UpdateItem', {
            TableName: this.t.tableName,
            Key: this.sKey(sid),
            UpdateExpression: 'SET #generation = :next, #refreshHash = :h',
            ConditionExpression: 'attribute_exists(#pk) AND #generation = :from',
            ExpressionAttributeNames: names('#generation #refreshHash #pk'),
            ExpressionAttributeValues: { ':from': N(from), ':next': N(from + 1), ':h': S(next.hash) },
          },
        ),
      );
      return true;
    } catch (err) {
      if (isConditionFailed(err)) return false;
      throw err;
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
