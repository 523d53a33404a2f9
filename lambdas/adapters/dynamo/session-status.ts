/**
 * SessionStatusSource over DynamoDB: the session and its user in ONE BatchGetItem round trip, over the stores'
 * SDK client (client.ts), in the cloud and in `npm start` alike. The whole lookup (a re-ask for unprocessed
 * keys included) is bounded by one deadline, so the authorizer answers its fail-closed error inside its timeout.
 */
import { type Env, storeConfig } from '../../core/config.js';
import { DependencyUnavailableError } from '../../core/errors.js';
import type { SessionStatus, SessionStatusSource } from '../../core/ports.js';
import { createDynamoClient, type DynamoCaller, type Item, key, names, num, str } from './client.js';
import { sessionKey, userKey } from './keys.js';

/** The attributes the authorizer needs from the session and user items, nothing else (no password hash). */
const STATUS_PROJECTION = '#pk, #username, #createdAt, #expiresAtMs, #revokedAt, #status, #sessionsValidAfter';
const STATUS_NAMES = names(STATUS_PROJECTION);

/** Reads the session item (partition key `sessionPk`) and the user item (`userPk`) out of a BatchGetItem answer. */
function statusFromItems(items: readonly Item[], sessionPk: string, userPk: string): SessionStatus {
  const status: SessionStatus = {};
  for (const item of items) {
    const pk = str(item, 'pk');
    if (pk === sessionPk) {
      const revokedAt = num(item, 'revokedAt');
      status.session = {
        username: str(item, 'username') ?? '',
        createdAt: num(item, 'createdAt') ?? 0,
        expiresAt: num(item, 'expiresAtMs') ?? 0,
        ...(revokedAt !== undefined ? { revokedAt } : {}),
      };
    } else if (pk === userPk) {
      status.user = {
        status: str(item, 'status') === 'active' ? 'active' : 'disabled',
        sessionsValidAfter: num(item, 'sessionsValidAfter') ?? 0,
      };
    }
  }
  return status;
}

interface BatchGetOutput {
  Responses?: Record<string, Item[] | undefined>;
  UnprocessedKeys?: Record<string, { Keys?: Item[] } | undefined>;
}

export interface SessionStatusTarget {
  client: Pick<DynamoCaller, 'call'>;
  tableName: string;
  /** Bound on the whole lookup, every BatchGetItem in it included. @default each call's own deadline only */
  deadlineMs?: number;
}

export class DynamoSessionStatusSource implements SessionStatusSource {
  constructor(private readonly t: SessionStatusTarget) {}

  async lookup(sid: string, username: string): Promise<SessionStatus> {
    const sk = sessionKey(sid);
    const uk = userKey(username);
    let request: Item[] = [key(sk.pk, sk.sk), key(uk.pk, uk.sk)];
    const items: Item[] = [];
    const options = this.t.deadlineMs !== undefined ? { abortSignal: AbortSignal.timeout(this.t.deadlineMs) } : undefined;
    // BatchGetItem may return UnprocessedKeys under throttling; retry those a couple of times, then fail closed.
    for (let attempt = 0; attempt < 3 && request.length > 0; attempt++) {
      let out: BatchGetOutput;
      try {
        out = await this.t.client.call<BatchGetOutput>(
          'BatchGetItem',
          {
            RequestItems: {
              [this.t.tableName]: { Keys: request, ConsistentRead: true, ProjectionExpression: STATUS_PROJECTION, ExpressionAttributeNames: STATUS_NAMES },
            },
          },
          options,
        );
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

/**
 * The authorizer's source from its environment (TABLE_NAME, AWS_REGION, DYNAMODB_ENDPOINT, STORE_DEADLINE_MS;
 * credentials and any other endpoint through the SDK's own settings).
 */
export function sessionStatusFromEnv(env: Env): DynamoSessionStatusSource {
  const cfg = storeConfig(env);
  return new DynamoSessionStatusSource({ client: createDynamoClient(cfg), tableName: cfg.tableName, deadlineMs: cfg.deadlineMs });
}
