/**
 * The client library against the real local stack: after the access token expires, ten concurrent calls share
 * ONE refresh (the server would treat a second exchange of the same refresh token as theft), and logout ends
 * the session on the server as well as in the client.
 */
import { afterAll, beforeAll, describe, test } from '@jest/globals';
import assert from 'node:assert/strict';
import { SessionEndedError, TokengateClient, type SessionEndReason } from '../../client/index.js';
import { DEMO, ordersStatus, post, refresh, startTestStack, type TestStack } from '../helpers/local.js';

const ACCESS_TTL = 60;
const LEEWAY = 5; // CLOCK_LEEWAY_SECONDS default: the server accepts a token up to this long after exp

/** A fetch that counts the requests per "METHOD /path" and remembers the last refresh token the server issued. */
function countingFetch() {
  const calls = new Map<string, number>();
  let lastRefreshToken: string | undefined;
  const wrapped: typeof fetch = async (input, init) => {
    const url = new URL(input instanceof Request ? input.url : input.toString());
    const key = `${(init?.method ?? 'GET').toUpperCase()} ${url.pathname}`;
    calls.set(key, (calls.get(key) ?? 0) + 1);
    const res = await fetch(input, init);
    if (res.ok && (url.pathname === '/auth/refresh' || url.pathname === '/auth/login')) {
      const body = (await res.clone().json()) as { refresh_token?: string };
      lastRefreshToken = body.refresh_token;
    }
    return res;
  };
  return { fetch: wrapped, count: (key: string) => calls.get(key) ?? 0, lastRefreshToken: () => lastRefreshToken };
}

describe('client library end to end', () => {
  let h: TestStack;
  beforeAll(async () => {
    h = await startTestStack({
      ACCESS_TOKEN_TTL_SECONDS: String(ACCESS_TTL),
      AUTHORIZER_CACHE_TTL_SECONDS: '0',
      REVOCATION_CACHE_TTL_SECONDS: '0',
    });
  });
  afterAll(() => h?.close());

  /** A client on the test stack's clock, counting the requests it sends and recording how sessions end. */
  function newClient() {
    const counter = countingFetch();
    const ended: SessionEndReason[] = [];
    const client = new TokengateClient({
      baseUrl: h.url,
      fetch: counter.fetch,
      now: () => h.clock.now(),
      onSessionEnd: (reason) => ended.push(reason),
    });
    return { counter, ended, client };
  }

  test('expired token + 10 concurrent calls → all 200 with exactly one refresh; logout ends the session', async () => {
    const { counter, ended, client } = newClient();

    const first = await client.login(DEMO.alice.username, DEMO.alice.password);
    assert.equal(first.expiresIn, ACCESS_TTL);
    assert.equal((await client.fetch('/orders')).status, 200);
    assert.equal(counter.count('POST /auth/refresh'), 0);

    // Past expiry by the server's own rule too (exp + leeway), so the old token is really dead server-side.
    h.clock.advanceSeconds(ACCESS_TTL + LEEWAY + 1);
    assert.equal(await ordersStatus(h, first.accessToken), 401, 'the old access token is expired for the server');

    const responses = await Promise.all(Array.from({ length: 10 }, () => client.fetch('/orders')));
    assert.deepEqual(
      responses.map((r) => r.status),
      Array(10).fill(200),
    );
    const bodies = await Promise.all(responses.map((r) => r.json() as Promise<{ sub?: string }>));
    for (const b of bodies) assert.equal(b.sub, 'alice');
    assert.equal(counter.count('POST /auth/refresh'), 1, 'exactly one refresh reached the server');
    assert.equal(counter.count('GET /orders'), 1 + 10, 'no request was retried');
    assert.deepEqual(ended, []);

    const current = await client.accessToken();
    assert.notEqual(current, first.accessToken);
    const liveRefreshToken = counter.lastRefreshToken();
    assert.ok(liveRefreshToken);

    const out = await client.logout();
    assert.equal(out.serverAcknowledged, true);
    assert.deepEqual(ended, ['logout']);
    assert.equal(client.isLoggedIn, false);
    await assert.rejects(client.fetch('/orders'), (err: unknown) => {
      assert.ok(err instanceof SessionEndedError);
      assert.equal(err.reason, 'no_session');
      return true;
    });
    // And the server agrees: the session's latest tokens are dead.
    assert.equal(await ordersStatus(h, current), 401);
    const r = await refresh(h, liveRefreshToken);
    assert.equal(r.status, 401);
    assert.deepEqual(r.json, { error: 'invalid_grant' });
  });

  test('a session revoked elsewhere: fetch refreshes once, gets refused, returns the 401 and ends the session', async () => {
    const { counter, ended, client } = newClient();
    const tokens = await client.login(DEMO.bob.username, DEMO.bob.password);
    assert.equal((await client.fetch('/orders')).status, 200);

    // Another device logs this session out (the access token stays valid by its own exp).
    const out = await post(h, '/auth/logout', { refresh_token: counter.lastRefreshToken() }, { authorization: `Bearer ${tokens.accessToken}` });
    assert.equal(out.status, 204);

    const res = await client.fetch('/orders');
    assert.equal(res.status, 401);
    assert.equal(counter.count('POST /auth/refresh'), 1);
    assert.deepEqual(ended, ['refresh_rejected']);
    assert.equal(client.isLoggedIn, false);
    await assert.rejects(client.fetch('/orders'), SessionEndedError);
  });
});
