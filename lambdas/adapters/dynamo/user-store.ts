/** UserStore over DynamoDB: USER#<name> / PROFILE. */
import { AlreadyExistsError, NotFoundError } from '../../core/errors.js';
import type { UserRecord, UserStatus, UserStore } from '../../core/ports.js';
import { type DynamoTarget, type Item, guarded, isConditionFailed, key, L, list, N, names, num, S, str } from './client.js';
import { USER_PREFIX, userKey } from './keys.js';

export function userFromItem(item: Item): UserRecord | undefined {
  const username = str(item, 'username');
  const passwordHash = str(item, 'passwordHash');
  if (username === undefined || passwordHash === undefined) return undefined;
  return {
    username,
    passwordHash,
    permissions: list(item, 'permissions'),
    status: str(item, 'status') === 'active' ? 'active' : 'disabled',
    createdAt: num(item, 'createdAt') ?? 0,
    sessionsValidAfter: num(item, 'sessionsValidAfter') ?? 0,
  };
}

export class DynamoUserStore implements UserStore {
  constructor(private readonly t: DynamoTarget) {}

  private k(username: string): Item {
    const { pk, sk } = userKey(username);
    return key(pk, sk);
  }

  async get(username: string): Promise<UserRecord | undefined> {
    const out = await guarded('get user', () =>
      this.t.client.call('GetItem', { TableName: this.t.tableName, Key: this.k(username), ConsistentRead: true }),
    );
    return out.Item ? userFromItem(out.Item) : undefined;
  }

  async create(user: UserRecord): Promise<void> {
    try {
      await guarded('create user', () =>
        this.t.client.call('PutItem', {
            TableName: this.t.tableName,
            Item: {
              ...this.k(user.username),
              username: S(user.username),
              passwordHash: S(user.passwordHash),
              permissions: L(user.permissions),
              status: S(user.status),
              createdAt: N(user.createdAt),
              sessionsValidAfter: N(user.sessionsValidAfter),
            },
            ConditionExpression: 'attribute_not_exists(#pk)',
            ExpressionAttributeNames: names('#pk'),
          },
        ),
      );
    } catch (err) {
      if (isConditionFailed(err)) throw new AlreadyExistsError(`user ${user.username} exists`, { cause: err });
      throw err;
    }
  }

  /** An update that must find the user; NotFoundError otherwise. */
  private async update(username: string, what: string, expr: string, values: Item): Promise<void> {
    try {
      await guarded(what, () =>
        this.t.client.call('UpdateItem', {
            TableName: this.t.tableName,
            Key: this.k(username),
            UpdateExpression: expr,
            ConditionExpression: 'attribute_exists(#pk)',
            ExpressionAttributeNames: names(expr, 'attribute_exists(#pk)'),
            ExpressionAttributeValues: values,
          },
        ),
      );
    } catch (err) {
      if (isConditionFailed(err)) throw new NotFoundError(`user ${username} not found`, { cause: err });
      throw err;
    }
  }

  setPermissions(username: string, permissions: string[]): Promise<void> {
    return this.update(username, 'set permissions', 'SET #permissions = :p', { ':p': L(permissions) });
  }

  setStatus(username: string, status: UserStatus, at: number): Promise<void> {
    // Disabling ends every session at once; enabling does not bring old sessions back.
    return status === 'disabled'
      ? this.update(username, 'disable user', 'SET #status = :s, #sessionsValidAfter = :t', { ':s': S(status), ':t': N(at) })
      : this.update(username, 'enable user', 'SET #status = :s', { ':s': S(status) });
  }

  revokeAllSessions(username: string, at: number): Promise<void> {
    return this.update(username, 'revoke sessions', 'SET #sessionsValidAfter = :t', { ':t': N(at) });
  }

  setPasswordHash(username: string, passwordHash: string): Promise<void> {
    return this.update(username, 'set password', 'SET #passwordHash = :h', { ':h': S(passwordHash) });
  }

  async list(): Promise<UserRecord[]> {
    const users: UserRecord[] = [];
    let start: Item | undefined;
    do {
      const out = await guarded('list users', () =>
        this.t.client.call('Scan', {
            TableName: this.t.tableName,
            FilterExpression: 'begins_with(#pk, :p)',
            ExpressionAttributeNames: names('#pk'),
            ExpressionAttributeValues: { ':p': S(USER_PREFIX) },
            ExclusiveStartKey: start,
          },
        ),
      );
      for (const item of out.Items ?? []) {
        const u = userFromItem(item);
        if (u) users.push(u);
      }
      start = out.LastEvaluatedKey;
    } while (start);
    return users.sort((a, b) => a.username.localeCompare(b.username));
  }
}
