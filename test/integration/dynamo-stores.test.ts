/** The DynamoDB adapters over the real SDK against the embedded store: the rules in the condition expressions. */
import { afterAll, beforeAll, test } from '@jest/globals';
import assert from 'node:assert/strict';
import { AlreadyExistsError, DependencyUnavailableError, NotFoundError } from '../../lambdas/core/errors.js';
import { createDynamoClient } from '../../lambdas/adapters/dynamo/client.js';
import { DynamoSessionStatusSource } from '../../lambdas/adapters/dynamo/session-status.js';
import { DynamoSessionStore } from '../../lambdas/adapters/dynamo/session-store.js';
import { DynamoThrottleStore } from '../../lambdas/adapters/dynamo/throttle-store.js';
import { DynamoUserStore } from '../../lambdas/adapters/dynamo/user-store.js';
import { startTestTable, type TestTable } from '../helpers/dynamo.js';

let table: TestTable;
beforeAll(async () => (table = await startTestTable()));
afterAll(async () => table.close());

const user = (username: string) => ({ username, passwordHash: '$scrypt$ln=14,r=8,p=1$AAAA$BBBB', permissions: ['orders:read'], status: 'active' as const, createdAt: 1, sessionsValidAfter: 0 });

test('users: create is conditional, updates need an existing user, reserved words are fine', async () => {
  const users = new DynamoUserStore(table);
  await users.create(user('dora'));
  await assert.rejects(users.create(user('dora')), AlreadyExistsError);
  await users.setPermissions('dora', ['orders:read', 'orders:write']);
  await users.setStatus('dora', 'disabled', 42);
  const got = await users.get('dora');
  assert.deepEqual(got, { ...user('dora'), permissions: ['orders:read', 'orders:write'], status: 'disabled', sessionsValidAfter: 42 });
  await assert.rejects(users.setPermissions('ghost', []), NotFoundError);
  await assert.rejects(users.revokeAllSessions('ghost', 1), NotFoundError);
  assert.ok((await users.list()).some((u) => u.username === 'dora'));
});

test('sessions: of 20 concurrent claims of one refresh token exactly one wins; rotation is conditional', async () => {
  const sessions = new DynamoSessionStore(table);
  await sessions.create(
    { sid: 's1', username: 'dora', createdAt: 1, expiresAt: 10_000, generation: 0, refreshHash: 'h0' },
    { hash: 'h0', sid: 's1', generation: 0, expiresAt: 10_000 },
  );
  await assert.rejects(
    sessions.create({ sid: 's1', username: 'x', createdAt: 1, expiresAt: 2, generation: 0, refreshHash: 'h9' }, { hash: 'h9', sid: 's1', generation: 0, expiresAt: 2 }),
    AlreadyExistsError,
  );
  const wins = (await Promise.all(Array.from({ length: 20 }, (_, i) => sessions.claimRefreshToken('h0', 100 + i)))).filter(Boolean);
  assert.equal(wins.length, 1);
  assert.ok((await sessions.getRefreshToken('h0'))?.usedAt !== undefined);
  const rotations = await Promise.all(
    Array.from({ length: 5 }, (_, i) => sessions.rotate('s1', 0, { hash: `h1-${i}`, sid: 's1', generation: 1, expiresAt: 10_000 }, 100)),
  );
  assert.equal(rotations.filter(Boolean).length, 1);
  const s = await sessions.getSession('s1');
  assert.equal(s?.generation, 1);
  await sessions.revoke('s1', 500);
  await sessions.revoke('s1', 600);
  assert.equal((await sessions.getSession('s1'))?.revokedAt, 500, 'the first revocation time is kept');
});

test('session status: session and user in one round trip', async () => {
  const status = await new DynamoSessionStatusSource(table).lookup('s1', 'dora');
  assert.equal(status.session?.username, 'dora');
  assert.equal(status.session?.revokedAt, 500);
  assert.equal(status.user?.status, 'disabled');
  assert.deepEqual(await new DynamoSessionStatusSource(table).lookup('nope', 'nobody'), {});
});

test('throttle: reservations are atomic up to the limit; a new window starts over; release and failure marks are exact', async () => {
  const throttle = new DynamoThrottleStore(table);
  const results = await Promise.all(Array.from({ length: 10 }, (_, i) => throttle.reserve('user#eve', 1, `a${i}`, 6, 60_000)));
  assert.equal(results.filter(Boolean).length, 6, 'exactly the limit of concurrent reservations succeed');
  const held = (await throttle.get('user#eve', 1)).held;
  assert.equal(held.length, 6);
  assert.equal(await throttle.reserve('user#eve', 1, held[0]!, 6, 60_000), true, 'a retried reservation keeps its slot');
  await throttle.markFailed('user#eve', 1, held[0]!);
  await throttle.release('user#eve', 1, held[1]!);
  assert.deepEqual(await throttle.get('user#eve', 1), { held: held.filter((h) => h !== held[1]), failed: [held[0]!] });
  assert.equal(await throttle.reserve('user#eve', 2, 'b0', 6, 60_000), true, 'the next window is a fresh counter');
  assert.deepEqual(await throttle.get('user#eve', 2), { held: ['b0'], failed: [] });
  assert.deepEqual(await throttle.get('user#nobody', 1), { held: [], failed: [] });
});

test('a store that does not answer becomes DependencyUnavailableError with the cause chained', async () => {
  const dead = createDynamoClient({ region: 'local', endpoint: 'http://127.0.0.1:9' });
  const err = await new DynamoUserStore({ client: dead, tableName: table.tableName }).get('x').catch((e: unknown) => e);
  assert.ok(err instanceof DependencyUnavailableError);
  assert.ok((err as Error).cause);
  dead.destroy();
});
