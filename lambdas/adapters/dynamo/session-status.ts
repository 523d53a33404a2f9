/** SessionStatusSource over DynamoDB: the session and its user in ONE BatchGetItem round trip. */
import { BatchGetItemCommand, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DependencyUnavailableError } from '../../core/errors.js';
import type { SessionStatus, SessionStatusSource } from '../../core/ports.js';
import { type Item, guarded, key } from './client.js';
import { STATUS_NAMES, STATUS_PROJECTION, statusFromItems } from './session-status-items.js';
import { sessionKey, userKey } from './keys.js';

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
                ProjectionExpression: STATUS_PROJECTION,
                ExpressionAttributeNames: STATUS_NAMES,
              },
            },
          }),
        ),
      );
      items.push(...(out.Responses?.[this.t.tableName] ?? []));
      request = out.UnprocessedKeys?.[this.t.tableName]?.Keys ?? [];
    }
    if (request.length > 0) throw new DependencyUnavailableError('session status: keys left unprocessed');

    return statusFromItems(items, sk.pk, uk.pk);
  }
}
