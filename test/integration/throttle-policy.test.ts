/**
 * The throttling policy at the service level, over the real embedded store, with an injected clock:
 * the per-username ceiling (and its metric), the per-address limit across names (password spraying),
 * fixed windows (bounded locks), and counters that stay exact when a write is retried after a lost answer.
 */
import { afterAll, beforeAll, describe, test } from '@jest/globals';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { AccessTokenIssuer } from '../../lambdas/core/access-token.js';
import { ManualClock } from '../../lambdas/core/clock.js';
import { throttleConfig, type ThrottleConfig } from '../../lambdas/core/config.js';
import { InvalidGrantError, TooManyAttemptsError } from '../../lambdas/core/errors.js';
import { PasswordHasher } from '../../lambdas/core/passwords.js';
import { AuthService, noEvents, type AuthEvents } from '../../lambdas/core/sessions.js';
import { LoginThrottle } from '../../lambdas/core/throttle.js';
import { UserAdmin } from '../../lambdas/core/users.js';
import type { DynamoCaller, DynamoTarget } from '../../lambdas/adapters/dynamo/client.js';
import { LocalKeySigner, generateP256Pem } from '../../lambdas/adapters/local-signer.js';
import { DynamoSessionStore } from '../../lambdas/adapters/dynamo/session-store.js';
import { DynamoThrottleStore } from '../../lambdas/adapters/dynamo/throttle-store.js';
import { DynamoUserStore } from '../../lambdas/adapters/dynamo/user-store.js';
import { startTestTable, type TestTable } from '../helpers/dynamo.js';

const WINDOW_MS = 900_000;
const hasher = new PasswordHasher({ ln: 14, r: 8, p: 1 });
const signer = LocalKeySigner.fromPem(generateP256Pem());
let table: TestTable;

beforeAll(async () => {
  table = await startTestTable();
});
afterAll(async () => table.close());

/** A clock at the start of a fixed window (windows are aligned to multiples of their length). */
const windowStartClock = () => new ManualClock(Math.ceil(Date.now() / WINDOW_MS) * WINDOW_MS + 7 * WINDOW_MS);

function service(
  target: DynamoTarget,
  clock: ManualClock,
  cfg: Partial<ThrottleConfig> = {},
  events: AuthEvents = noEvents,
  passwords: PasswordHasher = hasher,
): AuthService {
  const users = new DynamoUserStore(target);
  return new AuthService({
    users,
    sessions: new DynamoSessionStore(target),
    hasher: passwords,
    throttle: new LoginThrottle(new DynamoThrottleStore(target), { ...throttleConfig({}), ...cfg }, clock),
    tokens: new AccessTokenIssuer(signer, { issuer: 'https://issuer.test', audience: 'tokengate-api', accessTokenTtlSeconds: 900 }, clock),
    clock,
    config: { refreshTokenTtlSeconds: 3600, reuseGraceSeconds: 0 },
    events,
  });
}

async function newUser(clock: ManualClock, prefix: string): Promise<{ username: string; password: string }> {
  const username = `${prefix}-${randomBytes(5).toString('hex')}`;
  const password = `pw-${randomBytes(9).toString('base64url')}`;
  await new UserAdmin(new DynamoUserStore(table), hasher, clock).add(username, password, ['orders:read']);
  return { username, password };
}

/** 200 / 401 / 429 for one login, the way the HTTP layer maps them. */
async function outcome(auth: AuthService, username: string, password: string, address: string): Promise<number | string> {
  try {
    await auth.login(username, password, address);
    return 200;
  } catch (err) {
    if (err instanceof InvalidGrantError) return 401;
    if (err instanceof TooManyAttemptsError) return 429;
    return `${(err as Error).name}: ${(err as Error).message}`;
  }
}

function recordingEvents(): AuthEvents & { seen: string[] } {
  const seen: string[] = [];
  const rec = (name: string) => () => void seen.push(name);
  return {
    seen,
    loginSucceeded: rec('loginSucceeded'),
    loginFailed: (reason) => void seen.push(`loginFailed:${reason}`),
    loginUserCeilingReached: rec('loginUserCeilingReached'),
    refreshed: rec('refreshed'),
    refreshRejected: rec('refreshRejected'),
    reuseDetected: rec('reuseDetected'),
    loggedOut: rec('loggedOut'),
  };
}

describe('reserve before hashing, across processes', () => {
  test('40 concurrent wrong logins spread over 4 service instances (Lambda containers): exactly 5 passwords are checked', async () => {
    const clock = windowStartClock();
    const u = await newUser(clock, 'containers');
    let checked = 0;
    class CountingHasher extends PasswordHasher {
      override async verify(password: string, phc: string | undefined): Promise<boolean> {
        checked++;
        return super.verify(password, phc);
      }
    }
    // Each container has its own hasher and its own throttle (so nothing in one process can help): only the store.
    const containers = Array.from({ length: 4 }, () => service(table, clock, {}, noEvents, new CountingHasher({ ln: 14, r: 8, p: 1 })));
    const statuses = await Promise.all(
      Array.from({ length: 40 }, (_, i) => outcome(containers[i % 4]!, u.username, `wrong-${i}`, '198.51.100.40')),
    );
    assert.equal(statuses.filter((s) => s === 401).length, 5, statuses.join(','));
    assert.equal(statuses.filter((s) => s === 429).length, 35, statuses.join(','));
    assert.equal(checked, 5);
  });
});

describe('per-username ceiling', () => {
  test('failures from many addresses lock the name everywhere at the ceiling, count a metric, and the lock ends with the window', async () => {
    const clock = windowStartClock();
    const events = recordingEvents();
    const auth = service(table, clock, { maxFailures: 5, maxFailuresPerUser: 12 }, events);
    const u = await newUser(clock, 'ceiling');
    const statuses: (number | string)[] = [];
    // Four attackers, three guesses each: twelve failures, no address reaches its own limit of five.
    for (let a = 1; a <= 4; a++) for (let i = 0; i < 3; i++) statuses.push(await outcome(auth, u.username, `guess-${a}-${i}`, `203.0.113.${a}`));
    assert.deepEqual(statuses, Array(12).fill(401));
    assert.ok(!events.seen.includes('loginUserCeilingReached'));

    // The ceiling is reached: every address, even a fresh one and even with the right password, is refused…
    assert.equal(await outcome(auth, u.username, u.password, '198.51.100.9'), 429);
    assert.equal(await outcome(auth, u.username, 'guess-x', '203.0.113.1'), 429);
    assert.equal(events.seen.filter((e) => e === 'loginUserCeilingReached').length, 2, 'each refusal at the ceiling is counted');
    // …but only until the window ends: the lock is bounded.
    clock.advance(WINDOW_MS);
    assert.equal(await outcome(auth, u.username, u.password, '198.51.100.9'), 200);
  });
});

describe('per-address limit across names (password spraying)', () => {
  test('one wrong guess each for many names from one address stops at LOGIN_MAX_FAILURES_PER_ADDRESS; other addresses are unaffected', async () => {
    const clock = windowStartClock();
    const auth = service(table, clock, { maxFailures: 5, maxFailuresPerAddress: 8 });
    const spray: (number | string)[] = [];
    for (let i = 0; i < 20; i++) spray.push(await outcome(auth, `victim-${i}-${randomBytes(3).toString('hex')}`, 'Summer2025!', '192.0.2.77'));
    assert.deepEqual(spray, [...Array(8).fill(401), ...Array(12).fill(429)]);

    const u = await newUser(clock, 'elsewhere');
    assert.equal(await outcome(auth, u.username, u.password, '192.0.2.78'), 200, 'another address is not affected');
    assert.equal(await outcome(auth, u.username, 'wrong-password', '192.0.2.78'), 401);
    clock.advance(WINDOW_MS);
    assert.equal(await outcome(auth, `victim-late-${randomBytes(3).toString('hex')}`, 'Summer2025!', '192.0.2.77'), 401, 'the address lock ends with the window');
  });

  test('an IPv6 client is limited per /64: rotating the interface identifier does not help', async () => {
    const clock = windowStartClock();
    const auth = service(table, clock, { maxFailures: 5 });
    const u = await newUser(clock, 'v6');
    const statuses: (number | string)[] = [];
    for (let i = 0; i < 7; i++) statuses.push(await outcome(auth, u.username, `guess-${i}`, `2001:db8:1:2::${(i + 1).toString(16)}`));
    assert.deepEqual(statuses, [401, 401, 401, 401, 401, 429, 429]);
    assert.equal(await outcome(auth, u.username, u.password, '2001:db8:1:3::1'), 200, 'another /64 is another client');
  });
});

describe('retried writes', () => {
  /** Executes every write twice: the first succeeds but its answer is lost, then the client retries it. */
  function lostAnswers(inner: DynamoCaller): DynamoCaller & { writes: number } {
    const wrapper = {
      writes: 0,
      destroy: () => inner.destroy(),
      call: async <T>(op: Parameters<DynamoCaller['call']>[0], input: object): Promise<T> => {
        if (op === 'UpdateItem' || op === 'PutItem' || op === 'DeleteItem') {
          wrapper.writes++;
          await inner.call(op, input).catch(() => undefined);
        }
        return inner.call<T>(op, input);
      },
    };
    return wrapper;
  }

  test('a failure whose write is retried after a lost answer counts once: five 401s, then 429', async () => {
    const clock = windowStartClock();
    const retrying = lostAnswers(table.client);
    const auth = service({ client: retrying, tableName: table.tableName }, clock);
    const statuses: (number | string)[] = [];
    for (let i = 0; i < 7; i++) statuses.push(await outcome(auth, 'retried-name', `guess-${i}`, '198.51.100.20'));
    assert.ok(retrying.writes > 0, 'the writes went through the retrying caller');
    assert.deepEqual(statuses, [401, 401, 401, 401, 401, 429, 429]);
  });

  test('a success whose release is retried gives back exactly its own slot', async () => {
    const clock = windowStartClock();
    const store = new DynamoThrottleStore({ client: lostAnswers(table.client), tableName: table.tableName });
    const exact = new DynamoThrottleStore(table);
    const end = clock.now() + WINDOW_MS;
    assert.equal(await store.reserve('pair#t#retry', 1, 'a1', 2, end), true);
    assert.equal(await store.reserve('pair#t#retry', 1, 'a2', 2, end), true);
    assert.equal(await store.reserve('pair#t#retry', 1, 'a3', 2, end), false, 'the limit holds');
    await store.release('pair#t#retry', 1, 'a1');
    assert.deepEqual((await exact.get('pair#t#retry', 1)).held, ['a2'], 'releasing twice gives back one slot, not two');
    await store.markFailed('pair#t#retry', 1, 'a2');
    assert.deepEqual(await exact.get('pair#t#retry', 1), { held: ['a2'], failed: ['a2'] });
  });

  test('concurrent reservations never exceed the limit, and a retried reservation is the same slot', async () => {
    const exact = new DynamoThrottleStore(table);
    const retrying = new DynamoThrottleStore({ client: lostAnswers(table.client), tableName: table.tableName });
    const end = Date.now() + WINDOW_MS;
    const taken = await Promise.all(Array.from({ length: 25 }, (_, i) => (i % 2 ? retrying : exact).reserve('user#concurrent', 3, `id-${i}`, 5, end)));
    assert.equal(taken.filter(Boolean).length, 5);
    assert.equal((await exact.get('user#concurrent', 3)).held.length, 5);
    assert.deepEqual(await exact.get('user#concurrent', 4), { held: [], failed: [] }, 'another window is another counter');
  });
});
