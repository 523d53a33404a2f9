/** SessionStatusSource over DynamoDB: the session and its user in ONE BatchGetItem round trip. */
import { BatchGetItemCommand, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DependencyUnavailableError } from '../../core/errors.js';
import type { SessionStatus, SessionStatusSource } from '../../core/ports.js';
import { type Item, guarded, key, names, num, str } from './client.js';
import { sessionKey, userKey } from './keys.js';

const PROJECTION = '#pk, #username, #createdAt, #expiresAtMs, #revokedAt, #status, #sessionsValidAfter';

export class DynamoSessionStatusSource implements SessionStatusSource {
  constructor(private readonly t: { client: DynamoDBClient; tableName: string }) {}

  async lookup(sid: string, username: string): Promise<SessionStatus> {
    const sk = sessionKey(sid);
    const uk = userKey(username);
    let request: Item[] = [key(sk.pk, sk.sk), key(uk.pk, uk.sk)];
    const items: Item[] = [];
    // BatchGetItem may return UnprocessedKeys under throttling; retry those a couple of times, then fail closed.
    for (let attempt = 0; attempt < 3 && request.length > 0; attempt++) {
      const out = await guarded('session status', () =>
        this.t.client.send(
          new BatchGetItemCommand({
            RequestItems: {
              [this.t.tableName]: {
                Keys: request,
                ConsistentRead: true,
                ProjectionExpression: PROJECTION,
                ExpressionAttributeNames: names(PROJECTION),
              },
            },
          }),
        ),
      );
      items.push(...(out.Responses?.[this.t.tableName] ?? []));
      request = out.UnprocessedKeys?.[this.t.tableName]?.Keys ?? [];
    }
    if (request.length > 0) throw new DependencyUnavailableError('session status: keys left unprocessed');

    const status: SessionStatus = {};
    for (const item of items) {
      const pk = str(item, 'pk');
      if (pk === sk.pk) {
        const revokedAt = num(item, 'revokedAt');
        status.session = {
          username: str(item, 'username') ?? '',
          createdAt: num(item, 'createdAt') ?? 0,
          expiresAt: num(item, 'expiresAtMs') ?? 0,
          ...(revokedAt !== undefined ? { revokedAt } : {}),
        };
      } else if (pk === uk.pk) {
        status.user = {
          status: str(item, 'status') === 'active' ? 'active' : 'disabled',
          sessionsValidAfter: num(item, 'sessionsValidAfter') ?? 0,
        };
      }
    }
    return status;
  }
}
