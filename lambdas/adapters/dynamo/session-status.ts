/**
 * SessionStatusSource over DynamoDB: the session and its user in ONE BatchGetItem round trip. The authorizer
 * runs it over the light client (no AWS SDK on its cold path), in the cloud and in `npm start` alike.
 */
import { type Env, storeConfig } from '../../core/config.js';
import { DependencyUnavailableError } from '../../core/errors.js';
import type { SessionStatus, SessionStatusSource } from '../../core/ports.js';
import { createDynamoClient, type DynamoCaller, type Item, key } from './client.js';
import { sessionKey, userKey } from './keys.js';
import { STATUS_NAMES, STATUS_PROJECTION, statusFromItems } from './session-status-items.js';

interface BatchGetOutput {
  Responses?: Record<string, Item[] | undefined>;
  UnprocessedKeys?: Record<string, { Keys?: Item[] } | undefined>;
}

export class DynamoSessionStatusSource implements SessionStatusSource {
  constructor(private readonly t: { client: Pick<DynamoCaller, 'call'>; tableName: string }) {}

  async lookup(sid: string, username: string): Promise<SessionStatus> {
    const sk = sessionKey(sid);
    const uk = userKey(username);
    let request: Item[] = [key(sk.pk, sk.sk), key(uk.pk, uk.sk)];
    const items: Item[] = [];
    // BatchGetItem may return UnprocessedKeys under throttling; retry those a couple of times, then fail closed.
    for (let attempt = 0; attempt < 3 && request.length > 0; attempt++) {
      let out: BatchGetOutput;
      try {
        out = await this.t.client.call<BatchGetOutput>('BatchGetItem', {
          RequestItems: {
            [this.t.tableName]: { Keys: request, ConsistentRead: true, ProjectionExpression: STATUS_PROJECTION, ExpressionAttributeNames: STATUS_NAMES },
          },
        });
      } catch (err) {
        throw new DependencyUnavailableError(`store unavailable: session status (${(err as Error)?.name ?? 'error'})`, { cause: err });
      }
      items.push(...(out.Responses?.[this.t.tableName] ?? []));
      request = out.UnprocessedKeys?.[this.t.tableName]?.Keys ?? [];
    }
    if (request.length > 0) throw new DependencyUnavailableError('session status: keys left unprocessed');
    return statusFromItems(items, sk.pk, uk.pk);
  }
}

/** The authorizer's source from its environment (TABLE_NAME, AWS_REGION, DYNAMODB_ENDPOINT, credentials). */
export function sessionStatusFromEnv(env: Env): DynamoSessionStatusSource {
  const cfg = storeConfig(env);
  return new DynamoSessionStatusSource({ client: createDynamoClient(cfg, env), tableName: cfg.tableName });
}
