/**
 * TokengateClient against a scripted fake of the HTTP contract (fetch is the seam) and a manual clock.
 * The fake models refresh-token rotation like the real server: a spent refresh token revokes its session, so a
 * client that refreshed twice in parallel would fail these tests rather than pass them by luck.
 */
import { describe, test, expect } from '@jest/globals';
import assert from 'node:assert/strict';
import {
  InvalidCredentialsError,
  MemoryTokenStorage,
  SessionEndedError,
  TokengateClient,
  TokengateHttpError,
  TooManyAttemptsError,
  UnexpectedResponseError,
  UntrustedUrlError,
  type SessionEndReason,
  type StoredTokens,
  type TokengateClientOptions,
  type TokenStorage,
} from '../../client/index.js';

const ORIGIN = 'https://api.example.test';
const STAGE = '/prod';
const BASE = `${ORIGIN}${STAGE}`;

interface Call {
  method: string;
  /** Path below the stage. */
  path: string;
  url: string;
  headers: Headers;
  body: string | undefined;
  credentials: RequestCredentials | undefined;
}

type Handler = (call: Call) => Response | Promise<Response>;

const json = (status: number, body: unknown, headers: Record<string, string> = {}): Response =>
  new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json', ...headers } });

function deferred(): { promise: Promise<void>; resolve: () => void } {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => {
    resolve = r;
  });
  return { promise, resolve };
}

/** Lets every pending promise chain run (no timers involved). */
const settle = (): Promise<void> => new Promise((r) => setImmediate(r));

class FakeApi {
  nowMs = Date.UTC(2026, 0, 1);
  readonly now = (): number => this.nowMs;
  accessTtlSeconds = 900;
  readonly calls: Call[] = [];
  /** When set, /auth/refresh waits for it before answering. */
  refreshGate: Promise<void> | undefined;
  /** The browser's cookie jar for `Path=/auth` (cookie mode). */
  cookie: string | undefined;

  private seq = 0;
  private readonly scripted = new Map<string, Handler[]>();
  private readonly access = new Map<string, { sid: string; exp: number }>();
  private readonly refresh = new Map<string, { sid: string; spent: boolean }>();
  private readonly revoked = new Set<string>();

  readonly fetch: typeof fetch = async (input, init) => {
    const url = new URL(input instanceof Request ? input.url : input.toString());
    assert.equal(url.origin, ORIGIN);
    assert.ok(url.pathname.startsWith(`${STAGE}/`), `stage path kept: ${url.pathname}`);
    const call: Call = {
      method: init?.method ?? 'GET',
      path: url.pathname.slice(STAGE.length) + url.search,
      url: url.href,
      headers: new Headers(init?.headers),
      body: init?.body == null ? undefined : await new Response(init.body).text(),
      credentials: init?.credentials,
    };
    this.calls.push(call);
    const script = this.scripted.get(url.pathname.slice(STAGE.length));
    const next = script?.shift();
    if (next) return next(call);
    return this.model(call);
  };

  /** One-shot answers for a path, used before the model. */
  script(path: string, ...handlers: Handler[]): void {
    this.scripted.set(path, [...(this.scripted.get(path) ?? []), ...handlers]);
  }

  callsTo(path: string): Call[] {
    return this.calls.filter((c) => c.path === path);
  }

  advance(seconds: number): void {
    this.nowMs += seconds * 1000;
  }

  /** Server-side revocation of every session (e.g. "log out everywhere" from another device). */
  revokeAll(): void {
    for (const { sid } of this.access.values()) this.revoked.add(sid);
  }

  private async model(call: Call): Promise<Response> {
    const cookieMode = call.headers.get('x-token-delivery') === 'cookie';
    const body = call.body ? (JSON.parse(call.body) as Record<string, unknown>) : {};
    switch (`${call.method} ${call.path.split('?')[0] ?? ''}`) {
      case 'POST /auth/login':
        if (body.username !== 'alice' || body.password !== 'alice-password-1') return json(401, { error: 'invalid_grant' });
        return this.issue(`sid-${++this.seq}`, cookieMode, call);
      case 'POST /auth/refresh': {
        await this.refreshGate;
        if (cookieMode && 'refresh_token' in body) return json(400, { error: 'invalid_request' });
        const token = cookieMode ? (call.credentials === 'include' ? this.cookie : undefined) : body.refresh_token;
        const entry = typeof token === 'string' ? this.refresh.get(token) : undefined;
        if (!entry || this.revoked.has(entry.sid)) return json(401, { error: 'invalid_grant' });
        if (entry.spent) {
          this.revoked.add(entry.sid); // reuse of a spent token: treat as theft
          return json(401, { error: 'invalid_grant' });
        }
        entry.spent = true;
        return this.issue(entry.sid, cookieMode, call);
      }
      case 'POST /auth/logout': {
        const sid = this.bearerSid(call);
        if (sid) this.revoked.add(sid);
        if (body.all === true) this.revokeAll();
        if (cookieMode) this.cookie = undefined;
        return new Response(null, { status: 204 });
      }
      case 'GET /orders':
      case 'POST /echo': {
        const auth = call.headers.get('authorization') ?? '';
        if (!this.bearerSid(call)) return json(401, { message: 'Unauthorized' });
        return json(200, { token: auth.slice('Bearer '.length), body: call.body ?? null });
      }
      case 'DELETE /orders/1':
        if (!this.bearerSid(call)) return json(401, { message: 'Unauthorized' });
        return json(403, { message: 'Forbidden' });
      default:
        return json(404, { message: 'Not Found' });
    }
  }

  private bearerSid(call: Call): string | undefined {
    const auth = call.headers.get('authorization');
    const token = auth?.startsWith('Bearer ') ? auth.slice(7) : undefined;
    const entry = token ? this.access.get(token) : undefined;
    if (!entry || entry.exp <= this.nowMs || this.revoked.has(entry.sid)) return undefined;
    return entry.sid;
  }

  private issue(sid: string, cookieMode: boolean, call: Call): Response {
    const n = ++this.seq;
    const accessToken = `at-${n}`;
    const refreshToken = `rt-${n}`;
    this.access.set(accessToken, { sid, exp: this.nowMs + this.accessTtlSeconds * 1000 });
    this.refresh.set(refreshToken, { sid, spent: false });
    const body: Record<string, unknown> = {
      access_token: accessToken,
      token_type: 'Bearer',
      expires_in: this.accessTtlSeconds,
    };
    if (cookieMode) {
      if (call.credentials === 'include') this.cookie = refreshToken;
    } else {
      body.refresh_token = refreshToken;
    }
    return json(200, body);
  }
}

function setup(options: Partial<TokengateClientOptions> = {}): {
  api: FakeApi;
  client: TokengateClient;
  storage: MemoryTokenStorage;
  ended: SessionEndReason[];
} {
  const api = new FakeApi();
  const storage = new MemoryTokenStorage();
  const ended: SessionEndReason[] = [];
  const client = new TokengateClient({
    baseUrl: BASE,
    fetch: api.fetch,
    storage,
    now: api.now,
    onSessionEnd: (r) => ended.push(r),
    ...options,
  });
  return { api, client, storage, ended };
}

async function loggedIn(options: Partial<TokengateClientOptions> = {}): Promise<ReturnType<typeof setup>> {
  const s = setup(options);
  await s.client.login('alice', 'alice-password-1');
  s.api.calls.length = 0;
  return s;
}

const bearerOf = (call: Call | undefined): string | null | undefined => call?.headers.get('authorization');

describe('login', () => {
  test('stores the session and returns the token set without the refresh token', async () => {
    const { api, client, storage } = setup();
    assert.equal(client.isLoggedIn, false);

    const set = await client.login('alice', 'alice-password-1');

    assert.deepEqual(set, { accessToken: 'at-2', tokenType: 'Bearer', expiresIn: 900, expiresAt: api.nowMs + 900_000 });
    assert.equal('refreshToken' in set, false);
    assert.deepEqual(storage.get(), {
      accessToken: 'at-2',
      refreshToken: 'rt-2',
      receivedAt: api.nowMs,
      expiresAt: api.nowMs + 900_000,
    });
    assert.equal(client.isLoggedIn, true);
    const [call] = api.calls;
    assert.equal(call?.method, 'POST');
    assert.equal(call?.url, `${BASE}/auth/login`);
    assert.equal(call?.headers.get('content-type'), 'application/json');
    assert.deepEqual(JSON.parse(call?.body ?? ''), { username: 'alice', password: 'alice-password-1' });
    assert.equal(call?.headers.has('x-token-delivery'), false);
  });

  test('401 → InvalidCredentialsError, nothing stored', async () => {
    const { client, storage } = setup();
    const err = await client.login('alice', 'wrong').catch((e: unknown) => e);
    assert.ok(err instanceof InvalidCredentialsError);
    assert.ok(err instanceof TokengateHttpError);
    assert.equal(err.code, 'invalid_credentials');
    assert.equal(err.status, 401);
    assert.equal(err.error, 'invalid_grant');
    assert.equal(storage.get(), undefined);
    assert.equal(client.isLoggedIn, false);
  });

  test('429 → TooManyAttemptsError with retryAfterSeconds from Retry-After (seconds or HTTP date)', async () => {
    const { api, client } = setup();
    api.script('/auth/login', () => json(429, { error: 'too_many_attempts' }, { 'retry-after': '42' }));
    api.script('/auth/login', () =>
      json(429, {}, { 'retry-after': new Date(api.nowMs + 120_000).toUTCString() }),
    );
    api.script('/auth/login', () => json(429, {}));

    const first = await client.login('alice', 'x').catch((e: unknown) => e);
    assert.ok(first instanceof TooManyAttemptsError);
    assert.equal(first.code, 'too_many_attempts');
    assert.equal(first.status, 429);
    assert.equal(first.retryAfterSeconds, 42);

    const second = await client.login('alice', 'x').catch((e: unknown) => e);
    assert.ok(second instanceof TooManyAttemptsError);
    assert.equal(second.retryAfterSeconds, 120);

    const third = await client.login('alice', 'x').catch((e: unknown) => e);
    assert.ok(third instanceof TooManyAttemptsError);
    assert.equal(third.retryAfterSeconds, undefined);
  });

  test('other statuses → TokengateHttpError with status and error code', async () => {
    const { api, client } = setup();
    api.script('/auth/login', () => json(400, { error: 'invalid_request' }));
    api.script('/auth/login', () => new Response('<html>bad gateway</html>', { status: 502 }));

    const bad = await client.login('', '').catch((e: unknown) => e);
    assert.ok(bad instanceof TokengateHttpError);
    assert.equal(bad.code, 'http_error');
    assert.equal(bad.status, 400);
    assert.equal(bad.error, 'invalid_request');

    const gateway = await client.login('alice', 'x').catch((e: unknown) => e);
    assert.ok(gateway instanceof TokengateHttpError);
    assert.equal(gateway.status, 502);
    assert.equal(gateway.error, undefined);
  });

  test('a 200 that is not a token response → UnexpectedResponseError, nothing stored', async () => {
    const { api, client, storage } = setup();
    api.script('/auth/login', () => json(200, { access_token: 'x', token_type: 'Bearer' }));
    const err = await client.login('alice', 'alice-password-1').catch((e: unknown) => e);
    assert.ok(err instanceof UnexpectedResponseError);
    assert.equal(err.code, 'unexpected_response');
    assert.equal(storage.get(), undefined);
  });

  test('network failures propagate as they are', async () => {
    const { api, client } = setup();
    api.script('/auth/login', () => {
      throw new TypeError('fetch failed');
    });
    await assert.rejects(client.login('alice', 'alice-password-1'), { name: 'TypeError', message: 'fetch failed' });
  });
});

describe('fetch', () => {
  test('adds the Bearer token, keeps the stage path and the caller headers', async () => {
    const { api, client } = await loggedIn();
    const res = await client.fetch('/orders?limit=5', { headers: { 'x-request-id': 'r1' } });
    assert.equal(res.status, 200);
    const [call] = api.calls;
    assert.equal(call?.url, `${BASE}/orders?limit=5`);
    assert.equal(bearerOf(call), 'Bearer at-2');
    assert.equal(call?.headers.get('x-request-id'), 'r1');

    await client.fetch('orders');
    await client.fetch(new URL(`${BASE}/orders`));
    assert.deepEqual(
      api.calls.map((c) => c.url),
      [`${BASE}/orders?limit=5`, `${BASE}/orders`, `${BASE}/orders`],
    );
  });

  test('never sends the token to another origin', async () => {
    const { api, client } = await loggedIn();
    for (const url of ['https://evil.example/orders', '//evil.example/orders', new URL('http://api.example.test/x')]) {
      const err = await client.fetch(url).catch((e: unknown) => e);
      assert.ok(err instanceof UntrustedUrlError, String(url));
      assert.equal(err.code, 'untrusted_url');
    }
    assert.equal(api.calls.length, 0);
  });

  test('without a session it throws SessionEndedError(no_session) and sends nothing', async () => {
    const { api, client, ended } = setup();
    const err = await client.fetch('/orders').catch((e: unknown) => e);
    assert.ok(err instanceof SessionEndedError);
    assert.equal(err.code, 'session_ended');
    assert.equal(err.reason, 'no_session');
    assert.equal(api.calls.length, 0);
    assert.deepEqual(ended, []);
    await assert.rejects(client.accessToken(), SessionEndedError);
  });

  test('refreshes refreshSkewSeconds before expiry, by the injected clock', async () => {
    const { api, client } = await loggedIn({ refreshSkewSeconds: 30 });

    api.advance(869); // 31 s left
    await client.fetch('/orders');
    assert.equal(api.callsTo('/auth/refresh').length, 0);
    assert.equal(bearerOf(api.calls.at(-1)), 'Bearer at-2');

    api.advance(2); // 29 s left
    const res = await client.fetch('/orders');
    assert.equal(res.status, 200);
    assert.deepEqual(
      api.calls.map((c) => c.path),
      ['/orders', '/auth/refresh', '/orders'],
    );
    assert.equal(bearerOf(api.calls.at(-1)), 'Bearer at-3');
    assert.equal(await client.accessToken(), 'at-3');
  });

  test('the skew is capped at half the token lifetime, so short tokens are not refreshed on every call', async () => {
    const s = setup({ refreshSkewSeconds: 30 });
    s.api.accessTtlSeconds = 20;
    await s.client.login('alice', 'alice-password-1');
    s.api.advance(9);
    await s.client.fetch('/orders');
    assert.equal(s.api.callsTo('/auth/refresh').length, 0);
    s.api.advance(1);
    await s.client.fetch('/orders');
    assert.equal(s.api.callsTo('/auth/refresh').length, 1);
  });

  test('10 concurrent calls with an expired token share exactly one refresh, then all succeed', async () => {
    const { api, client, storage } = await loggedIn();
    api.advance(901);
    const gate = deferred();
    api.refreshGate = gate.promise;

    const pending = Promise.all(Array.from({ length: 10 }, () => client.fetch('/orders')));
    await settle();
    assert.equal(api.callsTo('/auth/refresh').length, 1, 'all callers joined the one refresh in flight');
    gate.resolve();
    const responses = await pending;

    assert.equal(api.callsTo('/auth/refresh').length, 1);
    assert.deepEqual(
      responses.map((r) => r.status),
      Array(10).fill(200),
    );
    const apiCalls = api.callsTo('/orders');
    assert.equal(apiCalls.length, 10);
    assert.ok(apiCalls.every((c) => bearerOf(c) === 'Bearer at-3'));
    assert.equal(storage.get()?.refreshToken, 'rt-3');
  });

  test('concurrent 401s on a token the server revoked also share one refresh', async () => {
    const { api, client } = await loggedIn();
    for (let i = 0; i < 5; i++) api.script('/orders', () => json(401, { message: 'Unauthorized' }));
    const responses = await Promise.all(Array.from({ length: 5 }, () => client.fetch('/orders')));
    assert.deepEqual(
      responses.map((r) => r.status),
      Array(5).fill(200),
    );
    assert.equal(api.callsTo('/auth/refresh').length, 1);
  });

  test('a 401 triggers one refresh and one retry with the new token', async () => {
    const { api, client } = await loggedIn();
    api.script('/orders', () => json(401, { message: 'Unauthorized' }));

    const res = await client.fetch('/orders');

    assert.equal(res.status, 200);
    assert.deepEqual(
      api.calls.map((c) => [c.path, bearerOf(c) ?? null]),
      [
        ['/orders', 'Bearer at-2'],
        ['/auth/refresh', null],
        ['/orders', 'Bearer at-3'],
      ],
    );
    assert.deepEqual(JSON.parse(api.calls[1]?.body ?? ''), { refresh_token: 'rt-2' });
  });

  test('a second 401 after the retry is returned, not refreshed again', async () => {
    const { api, client } = await loggedIn();
    api.script('/orders', () => json(401, { message: 'Unauthorized' }), () => json(401, { message: 'Unauthorized' }));
    const res = await client.fetch('/orders');
    assert.equal(res.status, 401);
    assert.equal(api.callsTo('/auth/refresh').length, 1);
    assert.equal(api.callsTo('/orders').length, 2);
  });

  test('replays a string body on the retry', async () => {
    const { api, client } = await loggedIn();
    api.script('/echo', () => json(401, { message: 'Unauthorized' }));
    const res = await client.fetch('/echo', { method: 'POST', body: '{"item":"book"}' });
    assert.equal(res.status, 200);
    expect(await res.json()).toEqual({ token: 'at-3', body: '{"item":"book"}' });
  });

  test('a stream body is not retried: the session is refreshed and the 401 returned', async () => {
    const { api, client } = await loggedIn();
    api.script('/echo', () => json(401, { message: 'Unauthorized' }));
    const body = new Blob(['streamed']).stream();
    const res = await client.fetch('/echo', { method: 'POST', body, duplex: 'half' } as RequestInit);
    assert.equal(res.status, 401);
    assert.equal(api.callsTo('/echo').length, 1);
    assert.equal(api.callsTo('/auth/refresh').length, 1);
    assert.equal(await client.accessToken(), 'at-3');
  });

  test('no refresh on 403', async () => {
    const { api, client } = await loggedIn();
    const res = await client.fetch('/orders/1', { method: 'DELETE' });
    assert.equal(res.status, 403);
    assert.deepEqual(
      api.calls.map((c) => c.path),
      ['/orders/1'],
    );
  });

  test('a refused proactive refresh ends the session: storage cleared, onSessionEnd, SessionEndedError', async () => {
    const { api, client, storage, ended } = await loggedIn();
    api.revokeAll();
    api.advance(901);

    const results = await Promise.allSettled([client.fetch('/orders'), client.fetch('/orders')]);

    for (const r of results) {
      assert.equal(r.status, 'rejected');
      assert.ok(r.reason instanceof SessionEndedError);
      assert.equal(r.reason.reason, 'refresh_rejected');
    }
    assert.equal(api.callsTo('/auth/refresh').length, 1);
    assert.equal(api.callsTo('/orders').length, 0);
    assert.equal(storage.get(), undefined);
    assert.equal(client.isLoggedIn, false);
    assert.deepEqual(ended, ['refresh_rejected']);
    // Afterwards there is simply no session.
    const later = await client.fetch('/orders').catch((e: unknown) => e);
    assert.ok(later instanceof SessionEndedError);
    assert.equal(later.reason, 'no_session');
    assert.deepEqual(ended, ['refresh_rejected']);
  });

  test('a 401 whose refresh is refused ends the session and returns the original 401', async () => {
    const { api, client, storage, ended } = await loggedIn();
    api.revokeAll(); // e.g. "log out everywhere" from another device

    const res = await client.fetch('/orders');

    assert.equal(res.status, 401);
    expect(await res.json()).toEqual({ message: 'Unauthorized' });
    assert.deepEqual(
      api.calls.map((c) => c.path),
      ['/orders', '/auth/refresh'],
    );
    assert.equal(storage.get(), undefined);
    assert.deepEqual(ended, ['refresh_rejected']);
  });

  test('rotation: each refresh stores and then uses the new refresh token', async () => {
    const { api, client, storage } = await loggedIn();
    api.advance(900);
    await client.fetch('/orders');
    assert.equal(storage.get()?.refreshToken, 'rt-3');
    api.advance(900);
    const res = await client.fetch('/orders');
    assert.equal(res.status, 200);
    assert.deepEqual(
      api.callsTo('/auth/refresh').map((c) => JSON.parse(c.body ?? '') as unknown),
      [{ refresh_token: 'rt-2' }, { refresh_token: 'rt-3' }],
    );
    assert.equal(storage.get()?.refreshToken, 'rt-4');
  });

  test('a transient refresh failure keeps the session: still-valid token used, expired token → error', async () => {
    const { api, client, storage, ended } = await loggedIn();
    api.script('/auth/refresh', () => json(503, { message: 'Service Unavailable' }));
    api.advance(880); // inside the skew, not expired
    const ok = await client.fetch('/orders');
    assert.equal(ok.status, 200);
    assert.equal(bearerOf(api.calls.at(-1)), 'Bearer at-2');

    api.script('/auth/refresh', () => json(503, {}));
    api.advance(30); // expired
    const err = await client.fetch('/orders').catch((e: unknown) => e);
    assert.ok(err instanceof TokengateHttpError);
    assert.equal(err.status, 503);
    assert.equal(storage.get()?.refreshToken, 'rt-2');
    assert.deepEqual(ended, []);

    const recovered = await client.fetch('/orders');
    assert.equal(recovered.status, 200);
  });

  test('an exception in onSessionEnd does not break the call', async () => {
    const { api, client } = await loggedIn({
      onSessionEnd: () => {
        throw new Error('ui bug');
      },
    });
    api.revokeAll();
    const res = await client.fetch('/orders');
    assert.equal(res.status, 401);
  });

  test('an aborted caller stops waiting without cancelling the shared refresh', async () => {
    const { api, client } = await loggedIn();
    api.advance(901);
    const gate = deferred();
    api.refreshGate = gate.promise;
    const controller = new AbortController();

    const aborted = client.fetch('/orders', { signal: controller.signal });
    const other = client.fetch('/orders');
    await settle();
    controller.abort();
    await assert.rejects(aborted, { name: 'AbortError' });
    gate.resolve();
    assert.equal((await other).status, 200);
    assert.equal(api.callsTo('/auth/refresh').length, 1);
  });
});

describe('cookie mode', () => {
  test('sends X-Token-Delivery and credentials include on every /auth call, never stores a refresh token', async () => {
    const { api, client, storage } = setup({ cookieMode: true });
    await client.login('alice', 'alice-password-1');
    api.advance(901);
    await client.fetch('/orders');
    await client.logout();

    const auth = api.calls.filter((c) => c.path.startsWith('/auth/'));
    assert.deepEqual(
      auth.map((c) => c.path),
      ['/auth/login', '/auth/refresh', '/auth/logout'],
    );
    for (const c of auth) {
      assert.equal(c.headers.get('x-token-delivery'), 'cookie', c.path);
      assert.equal(c.credentials, 'include', c.path);
      assert.equal(c.body?.includes('refresh_token'), false, c.path);
    }
    // The API call itself carries the Bearer token, not the cookie header.
    const orders = api.callsTo('/orders')[0];
    assert.equal(bearerOf(orders), 'Bearer at-3');
    assert.equal(orders?.headers.has('x-token-delivery'), false);
    assert.equal(api.cookie, undefined);
    assert.equal(storage.get(), undefined);
  });

  test('ignores a refresh_token in the body and stores none', async () => {
    const { api, client, storage } = setup({ cookieMode: true });
    api.script('/auth/login', () =>
      json(200, { access_token: 'at-x', token_type: 'Bearer', expires_in: 900, refresh_token: 'rt-x' }),
    );
    await client.login('alice', 'alice-password-1');
    const stored = storage.get();
    assert.equal(stored?.accessToken, 'at-x');
    assert.equal(stored !== undefined && 'refreshToken' in stored, false);
  });

  test('after a reload the session is restored from the cookie; without one it is no_session', async () => {
    const first = setup({ cookieMode: true });
    await first.client.login('alice', 'alice-password-1');

    // A new page: fresh client and memory, same browser cookie jar.
    const ended: SessionEndReason[] = [];
    const reloaded = new TokengateClient({
      baseUrl: BASE,
      fetch: first.api.fetch,
      now: first.api.now,
      cookieMode: true,
      onSessionEnd: (r) => ended.push(r),
    });
    assert.equal(reloaded.isLoggedIn, false);
    assert.equal(await reloaded.accessToken(), 'at-3');
    assert.equal(reloaded.isLoggedIn, true);

    first.api.cookie = undefined;
    const anonymous = new TokengateClient({ baseUrl: BASE, fetch: first.api.fetch, now: first.api.now, cookieMode: true });
    const err = await anonymous.fetch('/orders').catch((e: unknown) => e);
    assert.ok(err instanceof SessionEndedError);
    assert.equal(err.reason, 'no_session');
    assert.deepEqual(ended, []);
  });
});

describe('logout', () => {
  test('revokes this session with the refresh token and clears state', async () => {
    const { api, client, storage, ended } = await loggedIn();
    const result = await client.logout();
    assert.deepEqual(result, { serverAcknowledged: true });
    const [call] = api.calls;
    assert.equal(call?.path, '/auth/logout');
    assert.equal(bearerOf(call), 'Bearer at-2');
    assert.deepEqual(JSON.parse(call?.body ?? ''), { refresh_token: 'rt-2' });
    assert.equal(storage.get(), undefined);
    assert.equal(client.isLoggedIn, false);
    assert.deepEqual(ended, ['logout']);
  });

  test('{all: true} asks for every session to be revoked', async () => {
    const { api, client } = await loggedIn();
    await client.logout({ all: true });
    assert.deepEqual(JSON.parse(api.calls[0]?.body ?? ''), { refresh_token: 'rt-2', all: true });
  });

  test('clears local state even when the network call fails or errors', async () => {
    const { api, client, storage, ended } = await loggedIn();
    api.script('/auth/logout', () => {
      throw new TypeError('fetch failed');
    });
    assert.deepEqual(await client.logout(), { serverAcknowledged: false });
    assert.equal(storage.get(), undefined);
    assert.equal(client.isLoggedIn, false);
    assert.deepEqual(ended, ['logout']);

    await client.login('alice', 'alice-password-1');
    api.script('/auth/logout', () => json(500, {}));
    assert.deepEqual(await client.logout(), { serverAcknowledged: false });
    assert.equal(storage.get(), undefined);
  });

  test('without a session it sends nothing', async () => {
    const { api, client, ended } = setup();
    assert.deepEqual(await client.logout(), { serverAcknowledged: false });
    assert.equal(api.calls.length, 0);
    assert.deepEqual(ended, []);
  });

  test('waits for a refresh in flight, logs out with the current refresh token, and does not resurrect', async () => {
    const { api, client, storage } = await loggedIn();
    api.advance(901);
    const gate = deferred();
    api.refreshGate = gate.promise;
    const call = client.fetch('/orders');
    await settle();
    const out = client.logout();
    gate.resolve();
    await call;
    await out;
    assert.equal(storage.get(), undefined);
    assert.deepEqual(JSON.parse(api.callsTo('/auth/logout')[0]?.body ?? ''), { refresh_token: 'rt-3' });
  });
});

describe('storage', () => {
  class AsyncStorage implements TokenStorage {
    readonly log: string[] = [];
    constructor(public value: StoredTokens | undefined) {}
    async get(): Promise<StoredTokens | undefined> {
      this.log.push('get');
      return this.value;
    }
    async set(tokens: StoredTokens): Promise<void> {
      this.log.push('set');
      this.value = tokens;
    }
    async clear(): Promise<void> {
      this.log.push('clear');
      this.value = undefined;
    }
  }

  test('a custom asynchronous storage is read, written and cleared', async () => {
    const api = new FakeApi();
    const login = await (await api.fetch(`${BASE}/auth/login`, {
      method: 'POST',
      body: JSON.stringify({ username: 'alice', password: 'alice-password-1' }),
    })).json() as { access_token: string; refresh_token: string };
    const storage = new AsyncStorage({
      accessToken: login.access_token,
      refreshToken: login.refresh_token,
      receivedAt: api.nowMs,
      expiresAt: api.nowMs + 900_000,
    });
    api.calls.length = 0;
    const client = new TokengateClient({ baseUrl: BASE, fetch: api.fetch, now: api.now, storage });

    const res = await client.fetch('/orders');
    assert.equal(res.status, 200);
    assert.equal(bearerOf(api.calls[0]), 'Bearer at-2');
    assert.equal(client.isLoggedIn, true);

    api.advance(900);
    await client.fetch('/orders');
    assert.equal(storage.value?.refreshToken, 'rt-3');
    assert.ok(storage.log.includes('set'));

    await client.logout();
    assert.equal(storage.value, undefined);
    assert.ok(storage.log.includes('clear'));
    assert.equal(client.isLoggedIn, false);
  });

  test('malformed stored data counts as no session', async () => {
    const storage: TokenStorage = {
      get: () => JSON.parse('{"accessToken":""}') as StoredTokens,
      set: () => undefined,
      clear: () => undefined,
    };
    const client = new TokengateClient({ baseUrl: BASE, fetch: new FakeApi().fetch, storage });
    assert.equal(client.isLoggedIn, false);
    await assert.rejects(client.fetch('/orders'), SessionEndedError);
  });

  test('a storage without the refresh token keeps the session until the access token expires', async () => {
    const api = new FakeApi();
    const storage = new MemoryTokenStorage();
    const ended: SessionEndReason[] = [];
    const client = new TokengateClient({
      baseUrl: BASE,
      fetch: api.fetch,
      now: api.now,
      onSessionEnd: (r) => ended.push(r),
      storage: {
        get: () => storage.get(),
        set: ({ refreshToken: _dropped, ...rest }) => storage.set(rest),
        clear: () => storage.clear(),
      },
    });
    await client.login('alice', 'alice-password-1');
    api.advance(890);
    assert.equal((await client.fetch('/orders')).status, 200);
    api.advance(10);
    assert.equal(client.isLoggedIn, false);
    await assert.rejects(client.fetch('/orders'), { name: 'SessionEndedError', reason: 'expired' });
    assert.deepEqual(ended, ['expired']);
    assert.equal(api.callsTo('/auth/refresh').length, 0);
  });
});

describe('construction', () => {
  test('rejects a baseUrl that is not http(s) and a negative skew', () => {
    assert.throws(() => new TokengateClient({ baseUrl: 'not a url' }), TypeError);
    assert.throws(() => new TokengateClient({ baseUrl: 'ftp://x.example' }), TypeError);
    assert.throws(() => new TokengateClient({ baseUrl: BASE, refreshSkewSeconds: -1 }), TypeError);
  });

  test('a trailing slash on baseUrl does not double up', async () => {
    const api = new FakeApi();
    const client = new TokengateClient({ baseUrl: `${BASE}/`, fetch: api.fetch, now: api.now });
    await client.login('alice', 'alice-password-1');
    assert.equal(api.calls[0]?.url, `${BASE}/auth/login`);
  });
});
