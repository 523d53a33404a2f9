/**
 * The session-status read shared by both DynamoDB adapters (SDK and light client): what to project, and how
 * the two items become a SessionStatus. No SDK import, so the authorizer bundle can use it.
 */
import type { SessionStatus } from '../../core/ports.js';

/** The attributes the authorizer needs from the session and user items, nothing else (no password hash). */
export const STATUS_PROJECTION = '#pk, #username, #createdAt, #expiresAtMs, #revokedAt, #status, #sessionsValidAfter';
export const STATUS_NAMES: Record<string, string> = Object.fromEntries(
  [...STATUS_PROJECTION.matchAll(/#([A-Za-z_][A-Za-z0-9_]*)/g)].map((m) => [m[0], m[1]!]),
);

type Item = Record<string, { S?: string; N?: string } | undefined>;

const str = (item: Item, name: string): string | undefined => item[name]?.S;
const num = (item: Item, name: string): number | undefined => {
  const n = item[name]?.N;
  return n === undefined ? undefined : Number(n);
};

/** Reads the session item (partition key `sessionPk`) and the user item (`userPk`) out of a BatchGetItem answer. */
export function statusFromItems(items: readonly Item[], sessionPk: string, userPk: string): SessionStatus {
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
