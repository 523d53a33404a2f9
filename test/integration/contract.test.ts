/**
 * The HTTP contract of `npm start` (the README's contract section), end to end: local gateway → real handlers →
 * embedded store, with real tokens. Also the gateway's 401/403/500 mapping and authorizer cache TTL as a
 * client sees them, with an injected clock.
 */
import { afterAll, beforeAll, test, expect } from '@jest/globals';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ManualClock } from '../../lambdas/core/clock.js';
import { startLocalStack, type LocalStack } from '../../lib/local/stack.js';
import { decodeHeader, decodePayload, goodClaims, newTestKey, signEs256, signHs256, unsigned } from '../helpers/jwt.js';

const clock = new ManualClock(Date.now());
const dataDir = mkdtempSync(join(tmpdir(), 'tg-contract-'));
let stack: LocalStack;

beforeAll(async () => {
  stack = await startLocalStack({
    inMemory: true,
    port: 0,
    clock,
    env: { LOCAL_DATA_DIR: dataDir, PASSWORD_SCRYPT_LN: '14', AUTHORIZER_CACHE_TTL_SECONDS: '300' },
  });
});
afterAll(async () => {
  await stack.close();
  rmSync(dataDir, { recursive: true, force: true });
});

const post = (path: string, body: unknown, headers: Record<string, string> = {}) =>
  fetch(stack.url + path, { method: 'POST', headers: { 'Content-Type': 'application/json', ...headers }, body: typeof body === 'string' ? body : JSON.stringify(body) });
const call = (method: string, path: string, token?: string, body?: unknown) =>
  fetch(stack.url + path, {
    method,
    headers: { ...(token ? { Authorization: `Bearer ${token}` } : {}), ...(body ? { 'Content-Type': 'application/json' } : {}) },
    ...(body ? { body: JSON.stringify(body) } : {}),
  });

async function login(username: string, password: string): Promise<{ access_token: string; refresh_token: string; expires_in: number; token_type: string }> {
  const res = await post('/auth/login', { username, password });
  assert.equal(res.status, 200);
  return (await res.json()) as { access_token: string; refresh_token: string; expires_in: number; token_type: string };
}

test('login returns an RFC 9068 access token and an opaque refresh token', async () => {
  const res = await post('/auth/login', { username: 'alice', password: 'alice-password-1' });
  assert.equal(res.status, 200);
  assert.equal(res.headers.get('cache-control'), 'no-store');
  const body = (await res.json()) as Record<string, unknown>;
  assert.deepEqual(Object.keys(body).sort(), ['access_token', 'expires_in', 'refresh_token', 'token_type']);
  assert.equal(body.token_type, 'Bearer');
  assert.equal(body.expires_in, 900);
  assert.match(body.refresh_token as string, /^rt_[A-Za-z0-9_-]{43}$/);
  const h = decodeHeader(body.access_token as string);
  assert.equal(h.alg, 'ES256');
  assert.equal(h.typ, 'at+jwt');
  const p = decodePayload(body.access_token as string);
  assert.equal(p.sub, 'alice');
  assert.equal(p.iss, stack.env.TOKEN_ISSUER);
  assert.equal(p.aud, 'tokengate-api');
  assert.equal(p.scope, 'inventory:read inventory:reserve orders:read orders:write', 'alice holds the sample app\'s inventory permissions too (issue 10)');
  for (const c of ['exp', 'iat', 'jti', 'sid']) assert.ok(p[c] !== undefined, c);
});

test('login: bad credentials → 401 invalid_grant, the same for an unknown user', async () => {
  for (const [username, password] of [['alice', 'wrong-password'], ['nobody-here', 'whatever-1']]) {
    const res = await post('/auth/login', { username, password });
    assert.equal(res.status, 401);
    expect(await res.json()).toEqual({ error: 'invalid_grant' });
  }
});

test('login: malformed input → 400 invalid_request; oversized → 413; never 500', async () => {
  const bad: unknown[] = ['not json', '[]', 'null', '"str"', {}, { username: 'alice' }, { password: 'x' }, { username: 1, password: 'x' }, { username: 'alice', password: ['x'] }, { username: 'alice', password: 'p'.repeat(2000) }];
  for (const b of bad) {
    const res = await post('/auth/login', b);
    assert.equal(res.status, 400, JSON.stringify(b));
    assert.equal(((await res.json()) as { error: string }).error, 'invalid_request');
  }
  const wrongType = await fetch(stack.url + '/auth/login', { method: 'POST', headers: { 'Content-Type': 'text/plain' }, body: 'x' });
  assert.equal(wrongType.status, 400);
  const big = await post('/auth/login', { username: 'alice', password: 'x', pad: 'y'.repeat(20_000) });
  assert.equal(big.status, 413);
});

test('JWKS: public P-256 keys only, kid is the RFC 7638 thumbprint used in tokens', async () => {
  const res = await fetch(stack.url + '/.well-known/jwks.json');
  assert.equal(res.status, 200);
  const { keys } = (await res.json()) as { keys: Record<string, string>[] };
  assert.equal(keys.length, 1);
  assert.deepEqual(Object.keys(keys[0]!).sort(), ['alg', 'crv', 'kid', 'kty', 'use', 'x', 'y']);
  assert.deepEqual({ kty: keys[0]!.kty, crv: keys[0]!.crv, alg: keys[0]!.alg, use: keys[0]!.use }, { kty: 'EC', crv: 'P-256', alg: 'ES256', use: 'sig' });
  const { access_token } = await login('bob', 'bob-password-1');
  assert.equal(decodeHeader(access_token).kid, keys[0]!.kid);
});

test('orders: alice reads and writes (200/201/200/404), cannot delete (403); admin deletes (204/404)', async () => {
  const alice = (await login('alice', 'alice-password-1')).access_token;
  const list = await call('GET', '/orders', alice);
  assert.equal(list.status, 200);
  assert.equal(((await list.json()) as { sub: string }).sub, 'alice');
  const created = await call('POST', '/orders', alice, { item: 'tea', quantity: 2 });
  assert.equal(created.status, 201);
  const { order } = (await created.json()) as { order: { id: string } };
  assert.equal((await call('GET', `/orders/${order.id}`, alice)).status, 200);
  assert.equal((await call('GET', '/orders/does-not-exist', alice)).status, 404);
  const del = await call('DELETE', `/orders/${order.id}`, alice);
  assert.equal(del.status, 403);

  const admin = (await login('admin', 'admin-password-1')).access_token;
  const mine = (await (await call('POST', '/orders', admin, { item: 'cake', quantity: 1 })).json()) as { order: { id: string } };
  assert.equal((await call('DELETE', `/orders/${mine.order.id}`, admin)).status, 204);
  assert.equal((await call('DELETE', `/orders/${mine.order.id}`, admin)).status, 404);
});

test('bob (orders:read) gets 403 on POST /orders; the cached policy still serves his GETs', async () => {
  const bob = (await login('bob', 'bob-password-1')).access_token;
  assert.equal((await call('GET', '/orders', bob)).status, 200);
  assert.equal((await call('POST', '/orders', bob, { item: 'x' })).status, 403);
  assert.equal((await call('GET', '/orders/abc', bob)).status, 404);
});

test('every kind of bad token is a 401 {"message":"Unauthorized"}, never a 500', async () => {
  const { access_token } = await login('alice', 'alice-password-1');
  const [h, p] = access_token.split('.');
  const claims = decodePayload(access_token);
  const stranger = newTestKey();
  const kid = decodeHeader(access_token).kid as string;
  const jwks = (await (await fetch(stack.url + '/.well-known/jwks.json')).json()) as { keys: unknown[] };
  const tampered = `${h}.${Buffer.from(JSON.stringify({ ...claims, scope: 'orders:*' })).toString('base64url')}.${access_token.split('.')[2]}`;
  const cases: Record<string, string | undefined> = {
    none: undefined,
    garbage: 'garbage',
    alg_none: unsigned({ alg: 'none', typ: 'at+jwt', kid }, claims),
    hs256_with_public_key: signHs256(JSON.stringify(jwks.keys[0]), { alg: 'HS256', typ: 'at+jwt', kid }, claims),
    tampered,
    unknown_kid: signEs256(stranger, { alg: 'ES256', typ: 'at+jwt', kid: stranger.jwk.kid }, claims),
    forged_with_our_kid: signEs256(stranger, { alg: 'ES256', typ: 'at+jwt', kid }, claims),
    truncated: `${h}.${p}`,
  };
  for (const [name, token] of Object.entries(cases)) {
    const res = await call('GET', '/orders', token);
    assert.equal(res.status, 401, name);
    expect({ case: name, value: await res.json() }).toEqual({ case: name, value: { message: 'Unauthorized' } });
  }
  // Claim-level problems (wrong iss/aud, typ, crit, missing exp…) need the real key: test/unit/access-token.
});

test('expired by the injected clock → 401 once the gateway cache no longer holds the answer', async () => {
  const { access_token } = await login('alice', 'alice-password-1');
  assert.equal((await call('GET', '/orders', access_token)).status, 200);
  clock.advanceSeconds(299);
  assert.equal((await call('GET', '/orders', access_token)).status, 200, 'served from the authorizer cache');
  clock.advanceSeconds(1000);
  assert.equal((await call('GET', '/orders', access_token)).status, 401);
});

test('public routes and unknown routes behave like REST API Gateway', async () => {
  assert.equal((await fetch(stack.url + '/.well-known/jwks.json')).status, 200);
  const unknown = await fetch(stack.url + '/nope');
  assert.equal(unknown.status, 403);
  expect(await unknown.json()).toEqual({ message: 'Missing Authentication Token' });
});
