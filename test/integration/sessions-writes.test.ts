/**
 * The session writes against the real embedded store (issue 9, items 4 and 5):
 *
 * - Every write is safe to retry. A write that succeeded but whose answer was lost is repeated (the DynamoDB
 *   client's own retry); the repeat fails its condition because of our own first write. That must count as
 *   success: a retried claim or rotation must neither revoke the session nor fail the exchange, and a retried
 *   session create must not fail the login.
 * - The rotation only happens while the session is live: a session revoked (or expired) between the read and
 *   the rotation write gets no tokens.
 */
import { throttleConfig } from '../../lambdas/core/config.js';
import { afterAll, beforeAll, beforeEach, describe, test } from '@jest/globals';
import assert from 'node:assert/strict';
import { AccessTokenIssuer } from '../../lambdas/core/access-token.js';
import { ManualClock } from '../../lambdas/core/clock.js';
import { InvalidGrantError } from '../../lambdas/core/errors.js';
import { PasswordHasher } from '../../lambdas/core/passwords.js';
import type { RefreshTokenRecord, SessionRecord, SessionStore } from '../../lambdas/core/ports.js';
import { hashRefreshToken } from '../../lambdas/core/refresh-token.js';
import { AuthService, type TokenSet } from '../../lambdas/core/sessions.js';
import { LoginThrottle } from '../../lambdas/core/throttle.js';
import { UserAdmin } from '../../lambdas/core/users.js';
import type { DynamoCaller, DynamoOperation } from '../../lambdas/adapters/dynamo/client.js';
import { DynamoSessionStore } from '../../lambdas/adapters/dynamo/session-store.js';
import { DynamoThrottleStore } from '../../lambdas/adapters/dynamo/throttle-store.js';
import { DynamoUserStore } from '../../lambdas/adapters/dynamo/user-store.js';
import { LocalKeySigner, generateP256Pem } from '../../lambdas/adapters/local-signer.js';
import { startTestTable, type TestTable } from '../helpers/dynamo.js';

type Matcher = (operation: DynamoOperation, input: Record<string, unknown>) => boolean;

/**
 * A DynamoCaller in front of the real store that, for the writes a test picks, does what a client retry after a
 * lost answer does: the write reaches the store and succeeds, the answer never arrives, and the very same
 * request is sent again. The caller only sees the second attempt's answer.
 */
class LostAnswerCaller implements DynamoCaller {
  private matchers: Matcher[] = [];
  /** Writes that were executed twice. */
  repeated: string[] = [];

  constructor(private readonly inner: DynamoCaller) {}

  repeatWhen(m: Matcher): void {
    this.matchers.push(m);
  }

  reset(): void {
    this.matchers = [];
    this.repeated = [];
  }

  async call<T>(operation: DynamoOperation, input: object, options?: { abortSignal?: AbortSignal }): Promise<T> {
    const first = await this.inner.call<T>(operation, input, options);
    if (!this.matchers.some((m) => m(operation, input as Record<string, unknown>))) return first;
    this.repeated.push(`${operation} ${keyOf(input)}`);
    return this.inner.call<T>(operation, input, options);
  }

  destroy(): void {
    this.inner.destroy();
  }
}

function keyOf(input: object): string {
  const i = input as { Key?: { pk?: { S?: string } }; Item?: { pk?: { S?: string } } };
  return i.Key?.pk?.S ?? i.Item?.pk?.S ?? '?';
}

const isWrite = (op: DynamoOperation) => op === 'PutItem' || op === 'UpdateItem';
const onKey = (prefix: string): Matcher => (op, input) => isWrite(op) && keyOf(input).startsWith(prefix);
const updateSetting = (attr: string): Matcher => (op, input) =>
  op === 'UpdateItem' && String(input.UpdateExpression ?? '').includes(`#${attr} =`);

describe('session writes are safe to retry and rotation needs a live session', () => {
  const clock = new ManualClock(Date.now());
  let table: TestTable;
  let caller: LostAnswerCaller;
  let store: DynamoSessionStore;
  /** What runs between the refresh's reads and its writes (set per test). */
  let beforeClaim: ((sid: string) => Promise<void>) | undefined;
  let auth: AuthService;
  const PASSWORD = 'writes-password-1';

  beforeAll(async () => {
    table = await startTestTable('tokengate-writes');
    caller = new LostAnswerCaller(table.client);
    const target = { client: caller, tableName: table.tableName };
    store = new DynamoSessionStore(target);
    const users = new DynamoUserStore(target);
    const hasher = new PasswordHasher({ ln: 14, r: 8, p: 1 });
    await new UserAdmin(users, hasher, clock).add('walt', PASSWORD, ['orders:read']);
    // The store as the domain sees it, with a hook after the refresh's reads (the claim is its first write).
    const hooked: SessionStore = {
      create: (s: SessionRecord, r: RefreshTokenRecord) => store.create(s, r),
      getSession: (sid) => store.getSession(sid),
      getRefreshToken: (hash) => store.getRefreshToken(hash),
      claimRefreshToken: async (hash, at) => {
        const record = await store.getRefreshToken(hash);
        if (beforeClaim && record) await beforeClaim(record.sid);
        return store.claimRefreshToken(hash, at);
      },
      rotate: (...args: Parameters<SessionStore['rotate']>) => store.rotate(...args),
      revoke: (sid, at) => store.revoke(sid, at),
    };
    auth = new AuthService({
      users,
      sessions: hooked,
      hasher,
      throttle: new LoginThrottle(new DynamoThrottleStore(target), throttleConfig({}), clock),
      tokens: new AccessTokenIssuer(
        LocalKeySigner.fromPem(generateP256Pem()),
        { issuer: 'https://issuer.test', audience: 'tokengate-api', accessTokenTtlSeconds: 900 },
        clock,
      ),
      clock,
      config: { refreshTokenTtlSeconds: 3600, reuseGraceSeconds: 0 },
    });
  });
  afterAll(async () => table?.close());
  beforeEach(() => {
    caller.reset();
    beforeClaim = undefined;
  });

  const loginWalt = () => auth.login('walt', PASSWORD);

  async function assertLiveAndRotates(t: TokenSet, why: string): Promise<TokenSet> {
    const session = await store.getSession(t.sid);
    assert.equal(session?.revokedAt, undefined, `${why}: the session must not be revoked`);
    assert.equal(session?.refreshHash, hashRefreshToken(t.refreshToken), `${why}: the session points at the token handed out`);
    caller.reset();
    const next = await auth.refresh(t.refreshToken);
    assert.equal(next.sid, t.sid, `${why}: the handed-out refresh token rotates`);
    return next;
  }

  test('a retried session create (both writes answered late) still logs in', async () => {
    caller.repeatWhen(onKey('SESSION#'));
    caller.repeatWhen(onKey('REFRESH#'));
    const t = await loginWalt();
    assert.deepEqual(caller.repeated.map((r) => r.split('#')[0]).sort(), ['PutItem REFRESH', 'PutItem SESSION']);
    await assertLiveAndRotates(t, 'retried create');
  });

  test('a retried claim of the refresh token is not reuse: the exchange succeeds and the session lives', async () => {
    const t0 = await loginWalt();
    caller.repeatWhen(updateSetting('usedAt'));
    const t1 = await auth.refresh(t0.refreshToken);
    assert.equal(caller.repeated.length, 1, 'the claim was executed twice');
    assert.equal(t1.sid, t0.sid);
    await assertLiveAndRotates(t1, 'retried claim');
  });

  test('a retried rotation write (session update and the new token record) succeeds and the session lives', async () => {
    const t0 = await loginWalt();
    caller.repeatWhen(updateSetting('generation'));
    caller.repeatWhen((op, input) => op === 'PutItem' && keyOf(input).startsWith('REFRESH#'));
    const t1 = await auth.refresh(t0.refreshToken);
    assert.equal(caller.repeated.length, 2, `both rotation writes were executed twice: ${caller.repeated.join(', ')}`);
    const session = await store.getSession(t0.sid);
    assert.equal(session?.generation, 1, 'one rotation, not two');
    await assertLiveAndRotates(t1, 'retried rotation');
  });

  test('a retried session update alone (the rotation write proper) succeeds and the session lives', async () => {
    const t0 = await loginWalt();
    caller.repeatWhen(updateSetting('generation'));
    const t1 = await auth.refresh(t0.refreshToken);
    assert.equal(caller.repeated.length, 1);
    assert.equal((await store.getSession(t0.sid))?.generation, 1);
    await assertLiveAndRotates(t1, 'retried session update');
  });

  test('a retry is only ours when it is ours: a token claimed by another exchange is still reuse', async () => {
    const t0 = await loginWalt();
    // Another exchange spends the token between our read and our claim.
    beforeClaim = async () => {
      beforeClaim = undefined;
      await auth.refresh(t0.refreshToken);
    };
    await assert.rejects(auth.refresh(t0.refreshToken), InvalidGrantError);
    assert.ok((await store.getSession(t0.sid))?.revokedAt !== undefined, 'a concurrent second exchange is reuse');
  });

  test('revoked between the read and the rotation: invalid_grant and no tokens, the session does not move', async () => {
    const t0 = await loginWalt();
    beforeClaim = async (sid) => store.revoke(sid, clock.now());
    await assert.rejects(auth.refresh(t0.refreshToken), InvalidGrantError);
    const session = await store.getSession(t0.sid);
    assert.equal(session?.generation, 0, 'no rotation happened on a revoked session');
    assert.equal(session?.refreshHash, hashRefreshToken(t0.refreshToken));
  });

  test('expired between the read and the rotation: invalid_grant and no tokens', async () => {
    const t0 = await loginWalt();
    beforeClaim = async () => clock.advanceSeconds(3600);
    await assert.rejects(auth.refresh(t0.refreshToken), InvalidGrantError);
    const session = await store.getSession(t0.sid);
    assert.equal(session?.generation, 0, 'no rotation happened on an expired session');
  });
});
