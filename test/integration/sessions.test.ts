/**
 * Sessions end to end, over HTTP against the local stack (real handlers, real authorizer, embedded store):
 * refresh-token rotation, reuse detection (RFC 9700 §4.14), concurrent refreshes, the optional grace window,
 * logout (one session / everywhere), disabling a user, the revocation staleness bound with the default caches,
 * and fail-closed behaviour when the session store is down.
 *
 * Time moves only through the injected ManualClock (anchored at the real time once, then only forward).
 */
import { afterAll, beforeAll, describe, test } from '@jest/globals';
import assert from 'node:assert/strict';
import { createServer, Socket, type AddressInfo, type Server } from 'node:net';
import type { APIGatewayAuthorizerResult } from 'aws-lambda';
import { createDynamoClient } from '../../lambdas/adapters/dynamo/client.js';
import { DynamoSessionStatusSource } from '../../lambdas/adapters/dynamo/session-status.js';
import { createAuthorizer } from '../../lambdas/authorizer/authorizer.js';
import { DependencyUnavailableError } from '../../lambdas/core/errors.js';
import { PolicyBuilder } from '../../lambdas/core/policy.js';
import { hashRefreshToken } from '../../lambdas/core/refresh-token.js';
import { RevocationCheck } from '../../lambdas/core/revocation.js';
import { verifierFromEnv } from '../../lambdas/wiring.js';
import { createLocalGateway } from '../../lib/local/gateway.js';
import { LOCAL_TABLE } from '../../lib/local/stack.js';
import { routes } from '../helpers/demo-routes.js';
import {
  bearer,
  DEMO,
  jwtPayload,
  login,
  newUser,
  ordersStatus,
  post,
  refresh,
  startTestStack,
  type TestStack,
} from '../helpers/local.js';
import { testContext } from '../helpers/test-context.js';

// The test context: t.after(fn) cleans up after the current test (test/helpers/test-context.ts).
const t = testContext();

const INVALID_GRANT = { error: 'invalid_grant' };

/** Every item of the table that belongs to session `sid` (the session row and all its refresh-token rows). */
async function itemsOfSession(h: TestStack, sid: string) {
  const out = await h.table.client.call('Scan', {
    TableName: h.table.tableName,
    FilterExpression: '#sid = :sid',
    ExpressionAttributeNames: { '#sid': 'sid' },
    ExpressionAttributeValues: { ':sid': { S: sid } },
  });
  const items = out.Items ?? [];
  return {
    refreshRows: items.filter((i) => i.pk?.S?.startsWith('REFRESH')),
    sessionRows: items.filter((i) => i.pk?.S?.startsWith('SESSION')),
  };
}

describe('sessions with the caches off (AUTHORIZER_CACHE_TTL_SECONDS=0, REVOCATION_CACHE_TTL_SECONDS=0)', () => {
  let h: TestStack;
  beforeAll(async () => {
    h = await startTestStack({ AUTHORIZER_CACHE_TTL_SECONDS: '0', REVOCATION_CACHE_TTL_SECONDS: '0' });
  });
  afterAll(() => h?.close());

  test('rotation: refresh returns a new refresh token and a working access token', async () => {
    const first = await login(h, DEMO.alice.username, DEMO.alice.password);
    const r = await refresh(h, first.refresh_token);
    assert.equal(r.status, 200, r.text);
    assert.equal(r.headers.get('cache-control'), 'no-store');
    assert.equal(r.json.token_type, 'Bearer');
    assert.equal(r.json.expires_in, 900);
    assert.match(r.json.refresh_token, /^rt_[A-Za-z0-9_-]{43}$/);
    assert.notEqual(r.json.refresh_token, first.refresh_token);
    assert.notEqual(r.json.access_token, first.access_token);
    // Same session, next generation.
    assert.equal(jwtPayload(r.json.access_token).sid, jwtPayload(first.access_token).sid);
    assert.equal(await ordersStatus(h, r.json.access_token), 200);
    // And the new refresh token rotates in turn.
    const again = await refresh(h, r.json.refresh_token);
    assert.equal(again.status, 200, again.text);
    assert.equal(await ordersStatus(h, again.json.access_token), 200);
  });

  test('reuse: a spent refresh token is refused and kills the whole family, access tokens included', async () => {
    const t0 = await login(h, DEMO.bob.username, DEMO.bob.password);
    const r1 = await refresh(h, t0.refresh_token);
    assert.equal(r1.status, 200, r1.text);
    assert.equal(await ordersStatus(h, r1.json.access_token), 200);

    const replay = await refresh(h, t0.refresh_token);
    assert.equal(replay.status, 401);
    assert.deepEqual(replay.json, INVALID_GRANT);

    const newest = await refresh(h, r1.json.refresh_token);
    assert.equal(newest.status, 401, 'the newest refresh token of the family must be dead');
    assert.deepEqual(newest.json, INVALID_GRANT);
    assert.equal(await ordersStatus(h, r1.json.access_token), 401, 'the newest access token must be dead');
    assert.equal(await ordersStatus(h, t0.access_token), 401);

    const session = await h.sessions.getSession(jwtPayload(t0.access_token).sid);
    assert.ok(session?.revokedAt !== undefined, 'session must be revoked');
  });

  test('20 concurrent refreshes of one token: exactly one wins, the rest are reuse and the family is revoked', async () => {
    const { username, password } = await newUser(h, ['orders:read'], 'race');
    const t0 = await login(h, username, password);
    const sid = jwtPayload(t0.access_token).sid as string;

    const replies = await Promise.all(Array.from({ length: 20 }, () => refresh(h, t0.refresh_token)));
    const ok = replies.filter((r) => r.status === 200);
    const refused = replies.filter((r) => r.status === 401);
    assert.equal(ok.length, 1, `statuses: ${replies.map((r) => r.status).join(',')}`);
    assert.equal(refused.length, 19, `statuses: ${replies.map((r) => r.status).join(',')}`);
    for (const r of refused) assert.deepEqual(r.json, INVALID_GRANT);
    const winner = ok[0]!.json as { refresh_token: string; access_token: string };
    assert.equal(jwtPayload(winner.access_token).sid, sid);

    // The store is consistent: one rotation, revoked because the losers were reuse, no second token minted.
    const session = await h.sessions.getSession(sid);
    assert.ok(session, 'session exists');
    assert.equal(session.generation, 1, 'generation advanced exactly once');
    assert.ok(session.revokedAt !== undefined, 'the losing exchanges were reuse: the session is revoked');
    assert.equal(session.refreshHash, hashRefreshToken(winner.refresh_token), "the session points at the winner's token");
    const spent = await h.sessions.getRefreshToken(hashRefreshToken(t0.refresh_token));
    assert.ok(spent?.usedAt !== undefined, 'the original token is marked used');
    const { refreshRows, sessionRows } = await itemsOfSession(h, sid);
    assert.equal(sessionRows.length, 1);
    assert.deepEqual(
      refreshRows.map((i) => Number(i.generation?.N)).sort(),
      [0, 1],
      'exactly the original token and ONE successor exist',
    );

    // Nothing of the family is live any more.
    assert.equal((await refresh(h, winner.refresh_token)).status, 401);
    assert.equal(await ordersStatus(h, winner.access_token), 401);
    assert.equal(await ordersStatus(h, t0.access_token), 401);
  });

  test('logout of one session: its tokens die at once, another session of the same user lives on', async () => {
    const s1 = await login(h, DEMO.alice.username, DEMO.alice.password);
    const s2 = await login(h, DEMO.alice.username, DEMO.alice.password);
    assert.notEqual(jwtPayload(s1.access_token).sid, jwtPayload(s2.access_token).sid);

    const out = await post(h, '/auth/logout', { refresh_token: s1.refresh_token }, bearer(s1.access_token));
    assert.equal(out.status, 204, out.text);
    assert.equal(out.text, '');

    assert.equal(await ordersStatus(h, s1.access_token), 401);
    const r1 = await refresh(h, s1.refresh_token);
    assert.equal(r1.status, 401);
    assert.deepEqual(r1.json, INVALID_GRANT);

    assert.equal(await ordersStatus(h, s2.access_token), 200, 'the other session is untouched');
    const r2 = await refresh(h, s2.refresh_token);
    assert.equal(r2.status, 200, r2.text);
    assert.equal(await ordersStatus(h, r2.json.access_token), 200);

    // Logging out twice is fine.
    assert.equal((await post(h, '/auth/logout', { refresh_token: s1.refresh_token }, bearer(s1.access_token))).status, 204);
  });

  test('logout everywhere ({"all": true}) kills every session of the user, access and refresh tokens alike', async () => {
    const { username, password } = await newUser(h, ['orders:read'], 'all');
    const other = await newUser(h, ['orders:read'], 'bystander');
    const s1 = await login(h, username, password);
    const s2 = await login(h, username, password);
    const bystander = await login(h, other.username, other.password);
    h.clock.advanceSeconds(1); // the logout comes in a later request than the logins

    const out = await post(h, '/auth/logout', { all: true }, bearer(s1.access_token));
    assert.equal(out.status, 204, out.text);

    for (const s of [s1, s2]) {
      assert.equal(await ordersStatus(h, s.access_token), 401);
      const r = await refresh(h, s.refresh_token);
      assert.equal(r.status, 401);
      assert.deepEqual(r.json, INVALID_GRANT);
    }
    // Another user is not affected, and the user can log in again.
    assert.equal(await ordersStatus(h, bystander.access_token), 200);
    const fresh = await login(h, username, password);
    assert.equal(await ordersStatus(h, fresh.access_token), 200);
  });

  test('logout everywhere also ends a session created in the same millisecond', async () => {
    // The clock does not move between the logins and the logout: sessions that existed when the logout was
    // answered must be dead, whatever the timestamp resolution.
    const { username, password } = await newUser(h, ['orders:read'], 'samems');
    const s1 = await login(h, username, password);
    const s2 = await login(h, username, password);

    const out = await post(h, '/auth/logout', { all: true }, bearer(s1.access_token));
    assert.equal(out.status, 204, out.text);

    assert.equal(await ordersStatus(h, s2.access_token), 401, "the other session's access token must be dead");
    assert.equal((await refresh(h, s2.refresh_token)).status, 401, "the other session's refresh token must be dead");
  });

  test('disabling a user ends all its sessions and refuses login; enabling does not bring them back', async () => {
    const { username, password } = await newUser(h, ['orders:read'], 'disable');
    const s1 = await login(h, username, password);
    const s2 = await login(h, username, password);
    assert.equal(await ordersStatus(h, s1.access_token), 200);
    h.clock.advanceSeconds(1);

    await h.users.setStatus(username, 'disabled');

    for (const s of [s1, s2]) {
      assert.equal(await ordersStatus(h, s.access_token), 401);
      const r = await refresh(h, s.refresh_token);
      assert.equal(r.status, 401);
      assert.deepEqual(r.json, INVALID_GRANT);
    }
    const denied = await post(h, '/auth/login', { username, password });
    assert.equal(denied.status, 401);
    assert.deepEqual(denied.json, INVALID_GRANT);

    h.clock.advanceSeconds(1);
    await h.users.setStatus(username, 'active');
    assert.equal(await ordersStatus(h, s2.access_token), 401, 'old sessions stay dead after re-enabling');
    assert.equal((await refresh(h, s2.refresh_token)).status, 401);
    const back = await login(h, username, password);
    assert.equal(await ordersStatus(h, back.access_token), 200);
  });
});

describe('reuse grace window (REFRESH_REUSE_GRACE_SECONDS=10)', () => {
  let h: TestStack;
  beforeAll(async () => {
    h = await startTestStack({
      REFRESH_REUSE_GRACE_SECONDS: '10',
      AUTHORIZER_CACHE_TTL_SECONDS: '0',
      REVOCATION_CACHE_TTL_SECONDS: '0',
    });
  });
  afterAll(() => h?.close());

  test('a retry of the just-spent token within the window succeeds without revoking; after it, reuse revokes', async () => {
    // Within the window: the client lost the response to its refresh and retries with the same token.
    const a = await login(h, DEMO.bob.username, DEMO.bob.password);
    const sidA = jwtPayload(a.access_token).sid as string;
    const lost = await refresh(h, a.refresh_token);
    assert.equal(lost.status, 200, lost.text);
    h.clock.advanceSeconds(5);
    const retry = await refresh(h, a.refresh_token);
    assert.equal(retry.status, 200, retry.text);
    assert.notEqual(retry.json.refresh_token, lost.json.refresh_token);
    assert.equal((await h.sessions.getSession(sidA))?.revokedAt, undefined, 'no revocation within the window');
    assert.equal(await ordersStatus(h, retry.json.access_token), 200);
    const next = await refresh(h, retry.json.refresh_token);
    assert.equal(next.status, 200, 'the session carries on from the retried exchange');
    assert.equal(await ordersStatus(h, next.json.access_token), 200);

    // After the window: the same replay is theft, and the family dies.
    const b = await login(h, DEMO.bob.username, DEMO.bob.password);
    const sidB = jwtPayload(b.access_token).sid as string;
    const spent = await refresh(h, b.refresh_token);
    assert.equal(spent.status, 200, spent.text);
    h.clock.advanceSeconds(11);
    const late = await refresh(h, b.refresh_token);
    assert.equal(late.status, 401);
    assert.deepEqual(late.json, INVALID_GRANT);
    assert.ok((await h.sessions.getSession(sidB))?.revokedAt !== undefined, 'reuse after the window revokes');
    assert.equal((await refresh(h, spent.json.refresh_token)).status, 401);
    assert.equal(await ordersStatus(h, spent.json.access_token), 401);
    // The first session is not affected.
    assert.equal(await ordersStatus(h, next.json.access_token), 200);
  });
});

describe('staleness bound with the default caches (authorizer 300 s, revocation 30 s)', () => {
  const GATEWAY_TTL = 300;
  const REVOCATION_TTL = 30;
  let h: TestStack;
  beforeAll(async () => {
    h = await startTestStack({
      ACCESS_TOKEN_TTL_SECONDS: '900',
      AUTHORIZER_CACHE_TTL_SECONDS: String(GATEWAY_TTL),
      REVOCATION_CACHE_TTL_SECONDS: String(REVOCATION_TTL),
    });
  });
  afterAll(() => h?.close());

  test('after logout the token may pass from the gateway cache, but never beyond gateway TTL + revocation TTL', async () => {
    const s = await login(h, DEMO.alice.username, DEMO.alice.password);
    const control = await login(h, DEMO.bob.username, DEMO.bob.password);
    assert.equal(await ordersStatus(h, s.access_token), 200); // caches the answer for this token
    assert.equal(await ordersStatus(h, control.access_token), 200);

    const out = await post(h, '/auth/logout', { refresh_token: s.refresh_token }, bearer(s.access_token));
    assert.equal(out.status, 204, out.text);
    assert.equal((await refresh(h, s.refresh_token)).status, 401, 'the refresh token dies at once');

    // The bound is real, not zero: the gateway still answers from its cache.
    assert.equal(await ordersStatus(h, s.access_token), 200);
    h.clock.advanceSeconds(GATEWAY_TTL - 1);
    assert.equal(await ordersStatus(h, s.access_token), 200, 'still served from the gateway cache just before its TTL');

    h.clock.advanceSeconds(GATEWAY_TTL + REVOCATION_TTL + 1 - (GATEWAY_TTL - 1));
    assert.equal(await ordersStatus(h, s.access_token), 401, 'revoked once the staleness bound has passed');
    // Not expiry: a token of the same age from a live session still passes.
    assert.equal(await ordersStatus(h, control.access_token), 200);
  });

  test('worst case: a revocation-cache entry refreshed just before logout still keeps within the bound', async () => {
    // Token A is cached by the gateway at t=0. At t=271 token B of the same session refreshes the revocation
    // cache ("live") and the session is logged out right after. When A's gateway entry expires at t=300 the
    // authorizer runs again, sees the cached "live" (29 s old) and the gateway caches Allow for 300 s more.
    const t0 = await login(h, DEMO.alice.username, DEMO.alice.password);
    const control = await login(h, DEMO.bob.username, DEMO.bob.password);
    assert.equal(await ordersStatus(h, t0.access_token), 200); // gateway cache for A until t=300
    const rotated = await refresh(h, t0.refresh_token);
    assert.equal(rotated.status, 200, rotated.text);
    const tokenA = t0.access_token;
    const tokenB = rotated.json.access_token as string;

    h.clock.advanceSeconds(271);
    assert.equal(await ordersStatus(h, tokenB), 200); // revocation cache: live, fetched at t=271
    const out = await post(h, '/auth/logout', { refresh_token: rotated.json.refresh_token }, bearer(tokenB));
    assert.equal(out.status, 204, out.text);
    const loggedOutAt = 271;

    h.clock.advanceSeconds(300 - 271);
    const lookups = h.stack.revocationLookups();
    const stats = h.stack.gatewayStats();
    assert.equal(await ordersStatus(h, tokenA), 200, 'stale "live" from the revocation cache, re-cached by the gateway');
    assert.equal(h.stack.gatewayStats().authorizerInvocations, stats.authorizerInvocations + 1, 'the gateway entry had expired');
    assert.equal(h.stack.revocationLookups(), lookups, 'the authorizer answered from its revocation cache');
    h.clock.advanceSeconds(598 - 300);
    assert.equal(await ordersStatus(h, tokenA), 200, `still passing ${598 - loggedOutAt} s after logout`);
    assert.equal(h.stack.gatewayStats().cacheHits, stats.cacheHits + 1, 'served from the gateway cache');

    h.clock.advanceSeconds(loggedOutAt + GATEWAY_TTL + REVOCATION_TTL + 1 - 598);
    assert.equal(await ordersStatus(h, tokenA), 401, 'never beyond gateway TTL + revocation TTL after the logout');
    assert.equal(await ordersStatus(h, tokenB), 401);
    assert.equal(await ordersStatus(h, control.access_token), 200, 'a live session of the same age still passes');
  });
});

/** A TCP relay to the store that the test can cut, to simulate the store going away under the authorizer. */
async function startRelay(target: string): Promise<{ endpoint: string; cut(): Promise<void> }> {
  const { hostname, port } = new URL(target);
  const sockets = new Set<Socket>();
  const server: Server = createServer((client) => {
    const upstream = new Socket();
    upstream.connect(Number(port), hostname);
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.on('close', () => sockets.delete(s));
      s.on('error', () => {
        client.destroy();
        upstream.destroy();
      });
    }
    client.pipe(upstream);
    upstream.pipe(client);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port: relayPort } = server.address() as AddressInfo;
  let closed = false;
  return {
    endpoint: `http://127.0.0.1:${relayPort}`,
    cut: async () => {
      if (closed) return;
      closed = true;
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

describe('store outage: the authorizer fails closed', () => {
  const ARN_PREFIX = 'arn:aws:execute-api:us-east-1:123456789012:local/local/';
  let h: TestStack;
  beforeAll(async () => {
    h = await startTestStack({ REVOCATION_CACHE_TTL_SECONDS: '30' });
  });
  afterAll(() => h?.close());

  /** The production authorizer, wired like the stack's, but reading sessions through a relay we can cut. */
  async function authorizerBehindRelay() {
    const relay = await startRelay(h.stack.dynamoEndpoint);
    const client = createDynamoClient({ region: 'local', endpoint: relay.endpoint });
    const revocation = new RevocationCheck(new DynamoSessionStatusSource({ client, tableName: LOCAL_TABLE }), h.clock, {
      ttlMs: 30_000,
      maxEntries: 100,
    });
    const authorize = createAuthorizer({
      verifier: verifierFromEnv(h.stack.env, h.clock),
      revocation,
      policy: new PolicyBuilder(routes),
    });
    return {
      relay,
      revocation,
      authorize,
      close: async () => {
        await relay.cut();
        client.destroy();
      },
    };
  }

  test('store down: the authorizer rejects with an error that is not "Unauthorized", and caches nothing', async () => {
    const a = await authorizerBehindRelay();
    t.after(() => a.close());
    const tokens = await login(h, DEMO.bob.username, DEMO.bob.password);
    const event = { type: 'TOKEN' as const, authorizationToken: `Bearer ${tokens.access_token}`, methodArn: `${ARN_PREFIX}GET/orders` };

    const allowed: APIGatewayAuthorizerResult = await a.authorize(event);
    assert.equal(allowed.policyDocument.Statement[0]?.Effect, 'Allow');
    assert.equal(a.revocation.lookups, 1);

    await a.relay.cut();
    h.clock.advanceSeconds(31); // past the revocation cache TTL: the next call must ask the store

    for (const expectedLookups of [2, 3]) {
      await assert.rejects(a.authorize(event), (err: unknown) => {
        assert.ok(err instanceof Error);
        assert.notEqual(err.message, 'Unauthorized', 'a store failure must not look like a bad token (that would be cached as 401)');
        assert.ok(err.cause instanceof DependencyUnavailableError, `cause: ${String(err.cause)}`);
        return true;
      });
      assert.equal(a.revocation.lookups, expectedLookups, 'nothing was cached: every attempt asks the store again');
    }
  });

  test('store down: through the gateway the answer is 500, never 200, and it is not cached', async () => {
    const a = await authorizerBehindRelay();
    const ok = async () => ({ statusCode: 200, headers: { 'Content-Type': 'application/json' }, body: '{"ok":true}' });
    const gateway = createLocalGateway({
      routes,
      handlers: { login: ok, refresh: ok, logout: ok, jwks: ok, orders: ok },
      authorizer: a.authorize,
      authorizerCacheTtlSeconds: 300,
      clock: h.clock,
    });
    const { url } = await gateway.listen(0, '127.0.0.1');
    t.after(async () => {
      await gateway.close();
      await a.close();
    });
    const tokens = await login(h, DEMO.bob.username, DEMO.bob.password);
    const unseen = await login(h, DEMO.alice.username, DEMO.alice.password);
    const status = async (token: string) => (await fetch(`${url}/orders`, { headers: bearer(token) })).status;

    assert.equal(await status(tokens.access_token), 200);
    await a.relay.cut();
    h.clock.advanceSeconds(301); // past the gateway cache and the revocation cache

    const before = gateway.stats.authorizerInvocations;
    assert.equal(await status(tokens.access_token), 500);
    assert.equal(await status(tokens.access_token), 500);
    assert.equal(await status(unseen.access_token), 500);
    assert.equal(gateway.stats.authorizerInvocations - before, 3, 'a failed authorization is never cached');
  });
});
