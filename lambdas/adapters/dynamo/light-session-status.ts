/**
 * SessionStatusSource over the light client: the session and its user in ONE BatchGetItem round trip, the
 * same request, projection and answer as DynamoSessionStatusSource (session-status.ts), without the AWS SDK.
 * The authorizer uses this one; local mode and the other adapters keep the SDK.
 */
import { type Env, storeConfig } from '../../core/config.js';
import { DependencyUnavailableError } from '../../core/errors.js';
import type { SessionStatus, SessionStatusSource } from '../../core/ports.js';
import { sessionKey, userKey } from './keys.js';
import { credentialsFromEnv, LightDynamoClient } from './light-client.js';
import { STATUS_NAMES, STATUS_PROJECTION, statusFromItems } from './session-status-items.js';

interface AttributeValue {
  S?: string;
  N?: string;
}
type Item = Record<string, AttributeValue | undefined>;
type Key = { pk: { S: string }; sk: { S: string } };

interface BatchGetOutput {
  Responses?: Record<string, Item[] | undefined>;
  UnprocessedKeys?: Record<string, { Keys?: Key[] } | undefined>;
}

const key = (k: { pk: string; sk: string }): Key => ({ pk: { S: k.pk }, sk: { S: k.sk } });

export class LightSessionStatusSource implements SessionStatusSource {
  constructor(
    readonly client: Pick<LightDynamoClient, 'call'>,
    private readonly tableName: string,
  ) {}

  async lookup(sid: string, username: string): Promise<SessionStatus> {
    const sk = sessionKey(sid);
    const uk = userKey(username);
    let request: Key[] = [key(sk), key(uk)];
    const items: Item[] = [];
    // BatchGetItem may return UnprocessedKeys under throttling; retry those a couple of times, then fail closed.
    for (let attempt = 0; attempt < 3 && request.length > 0; attempt++) {
      let out: BatchGetOutput;
      try {
        out = await this.client.call<BatchGetOutput>('BatchGetItem', {
          RequestItems: {
            [this.tableName]: { Keys: request, ConsistentRead: true, ProjectionExpression: STATUS_PROJECTION, ExpressionAttributeNames: STATUS_NAMES },
          },
        });
      } catch (err) {
        throw new DependencyUnavailableError(`store unavailable: session status (${(err as Error)?.name ?? 'error'})`, { cause: err });
      }
      items.push(...(out.Responses?.[this.tableName] ?? []));
      request = out.UnprocessedKeys?.[this.tableName]?.Keys ?? [];
    }
    if (request.length > 0) throw new DependencyUnavailableError('session status: keys left unprocessed');

    return statusFromItems(items, sk.pk, uk.pk);
  }
}

/** The authorizer's source from its environment (TABLE_NAME, AWS_REGION, DYNAMODB_ENDPOINT, credentials). */
export function lightSessionStatusFromEnv(env: Env): LightSessionStatusSource {
  const cfg = storeConfig(env);
  const client = new LightDynamoClient({
    region: cfg.region,
    ...(cfg.endpoint ? { endpoint: cfg.endpoint } : {}),
    credentials: credentialsFromEnv(env, cfg.endpoint !== undefined),
  });
  return new LightSessionStatusSource(client, cfg.tableName);
}
