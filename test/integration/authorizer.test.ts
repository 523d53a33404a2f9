/**
 * The authorizer handler with a sam-style TOKEN event, real crypto and the real embedded store:
 * what it returns for good and bad tokens, revocation, the revocation cache, and failing closed.
 */
import { afterAll, beforeAll, test } from '@jest/globals';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import type { APIGatewayTokenAuthorizerEvent } from 'aws-lambda';
import { routes } from '../helpers/demo-routes.js';
import { AccessTokenVerifier } from '../../lambdas/core/access-token.js';
import { ManualClock } from '../../lambdas/core/clock.js';
import { PolicyBuilder } from '../../lambdas/core/policy.js';
import { RevocationCheck } from '../../lambdas/core/revocation.js';
import { DynamoSessionStatusSource } from '../../lambdas/adapters/dynamo/session-status.js';
import { DynamoSessionStore } from '../../lambdas/adapters/dynamo/session-store.js';
import { DynamoUserStore } from '../../lambdas/adapters/dynamo/user-store.js';
import { createDynamoClient } from '../../lambdas/adapters/dynamo/client.js';
import { createAuthorizer } from '../../lambdas/authorizer/authorizer.js';
import { goodClaims, jwksOf, newTestKey, signEs256 } from '../helpers/jwt.js';
import { startTestTable, type TestTable } from '../helpers/dynamo.js';

const event = JSON.parse(readFileSync(new URL('../events/authorizer-token.json', import.meta.url), 'utf8')) as APIGatewayTokenAuthorizerEvent;
const PREFIX = 'arn:aws:execute-api:us-east-1:123456789012:abcdef1234/prod/';
const key = newTestKey();
const clock = new ManualClock(Date.now());
const nowS = () => Math.floor(clock.now() / 1000);
let table: TestTable;
let sessions: DynamoSessionStore;
let users: DynamoUserStore;

const header = { alg: 'ES256', typ: 'at+jwt', kid: key.jwk.kid };
const tokenFor = (sid: string, sub = 'alice', scope = 'orders:read orders:write') =>
  signEs256(key, header, goodClaims(nowS(), { iss: 'https://issuer.test', sid, sub, scope }));

function build(ttlSeconds = 30, source = new DynamoSessionStatusSource(table)) {
  const revocation = new RevocationCheck(source, clock, { ttlMs: ttlSeconds * 1000, maxEntries: 100 });
  const verifier = new AccessTokenVerifier({ issuer: 'https://issuer.test', audience: 'tokengate-api', jwks: jwksOf(key), leewaySeconds: 5, clock });
  return { revocation, handler: createAuthorizer({ verifier, revocation, policy: new PolicyBuilder(routes) }) };
}

async function addSession(sid: string, username = 'alice') {
  await sessions.create(
    { sid, username, createdAt: clock.now(), expiresAt: clock.now() + 3600_000, generation: 0, refreshHash: `h-${sid}` },
    { hash: `h-${sid}`, sid, generation: 0, expiresAt: clock.now() + 3600_000 },
  );
}

beforeAll(async () => {
  table = await startTestTable();
  sessions = new DynamoSessionStore(table);
  users = new DynamoUserStore(table);
  for (const username of ['alice', 'bob']) {
    await users.create({ username, passwordHash: '$scrypt$x', permissions: [], status: 'active', createdAt: 0, sessionsValidAfter: 0 });
  }
});
afterAll(async () => table.close());

const isUnauthorized = (err: unknown) => err instanceof Error && err.message === 'Unauthorized';

test('a valid token yields principalId = sub, primitive context, and Allow for every permitted route', async () => {
  await addSession('s-ok');
  const { handler } = build();
  const token = tokenFor('s-ok');
  const res = await handler({ ...event, authorizationToken: `Bearer ${token}` });
  assert.equal(res.principalId, 'alice');
  assert.deepEqual(res.context, { sub: 'alice', scope: 'orders:read orders:write', sid: 's-ok', jti: '5f0c0a52-9b5e-4a4e-9d1a-2b7f9a0c1e11', exp: String(nowS() + 900) });
  for (const v of Object.values(res.context ?? {})) assert.ok(['string', 'number', 'boolean'].includes(typeof v));
  assert.deepEqual(res.policyDocument.Statement, [
    { Action: 'execute-api:Invoke', Effect: 'Allow', Resource: [`${PREFIX}GET/orders`, `${PREFIX}POST/orders`, `${PREFIX}GET/orders/*`] },
  ]);
});

test('a missing or malformed Authorization value is Unauthorized', async () => {
  const { handler } = build();
  for (const authorizationToken of ['', 'Bearer', 'Basic abc', `Token ${tokenFor('s-ok')}`, 'Bearer a.b.c', `Bearer  ${'x'.repeat(9000)}`]) {
    await assert.rejects(handler({ ...event, authorizationToken }), isUnauthorized, authorizationToken.slice(0, 20));
  }
});

test('an unknown session, a revoked session and a user-wide cut-off are Unauthorized', async () => {
  await addSession('s-revoked');
  await addSession('s-bob', 'bob');
  const { handler } = build(0);
  await assert.rejects(handler({ ...event, authorizationToken: `Bearer ${tokenFor('s-unknown')}` }), isUnauthorized);
  await sessions.revoke('s-revoked', clock.now());
  await assert.rejects(handler({ ...event, authorizationToken: `Bearer ${tokenFor('s-revoked')}` }), isUnauthorized);
  // A token whose sub is not the session's user (a forged pairing) is refused as well.
  await assert.rejects(handler({ ...event, authorizationToken: `Bearer ${tokenFor('s-bob', 'alice')}` }), isUnauthorized);
  assert.ok(await handler({ ...event, authorizationToken: `Bearer ${tokenFor('s-bob', 'bob', 'orders:read')}` }));
  clock.advance(1);
  await users.revokeAllSessions('bob', clock.now());
  await assert.rejects(handler({ ...event, authorizationToken: `Bearer ${tokenFor('s-bob', 'bob', 'orders:read')}` }), isUnauthorized);
});

test('revocation cache: one store round trip per session per window, none for repeats inside it', async () => {
  await addSession('s-cache');
  const { handler, revocation } = build(30);
  const token = tokenFor('s-cache');
  for (let i = 0; i < 50; i++) await handler({ ...event, authorizationToken: `Bearer ${token}` });
  assert.equal(revocation.lookups, 1);
  // A revocation is seen once the window has passed, not before.
  await sessions.revoke('s-cache', clock.now());
  clock.advanceSeconds(29);
  assert.ok(await handler({ ...event, authorizationToken: `Bearer ${token}` }));
  clock.advanceSeconds(1);
  await assert.rejects(handler({ ...event, authorizationToken: `Bearer ${token}` }), isUnauthorized);
  assert.equal(revocation.lookups, 2);
});

test('store down: fails closed with an error that is not Unauthorized, and caches nothing', async () => {
  await addSession('s-outage');
  const dead = createDynamoClient({ region: 'local', endpoint: 'http://127.0.0.1:9' });
  const { handler, revocation } = build(30, new DynamoSessionStatusSource({ client: dead, tableName: table.tableName }));
  const ev = { ...event, authorizationToken: `Bearer ${tokenFor('s-outage')}` };
  await assert.rejects(handler(ev), (err: unknown) => err instanceof Error && err.message !== 'Unauthorized');
  await assert.rejects(handler(ev), (err: unknown) => err instanceof Error && err.message !== 'Unauthorized');
  assert.equal(revocation.lookups, 2, 'a failed lookup is not cached');
  dead.destroy();
});

test('a methodArn that is not an execute-api ARN is refused as Unauthorized (never an error, a 500 at the gateway)', async () => {
  // Issue 11: only a hand-made event carries such a methodArn; a valid token with it gets no policy and no error.
  await addSession('s-arn');
  const { handler } = build();
  for (const methodArn of ['garbage', 'GET /orders', 'arn:aws:s3:::bucket/key/x', 'arn:aws:execute-api:us-east-1:123456789012:abc', '', undefined]) {
    await assert.rejects(
      handler({ ...event, methodArn: methodArn as string, authorizationToken: `Bearer ${tokenFor('s-arn')}` }),
      (err: unknown) => err instanceof Error && err.message === 'Unauthorized',
      String(methodArn),
    );
  }
  // A methodArn of another stage, region and account is an ARN: Allow, for that API's routes.
  const other = await handler({ ...event, methodArn: 'arn:aws:execute-api:eu-west-1:210987654321:zyxw987654/beta/GET/orders', authorizationToken: `Bearer ${tokenFor('s-arn')}` });
  assert.equal(other.policyDocument.Statement[0]?.Effect, 'Allow');
  const resources = (other.policyDocument.Statement[0] as { Resource: string[] }).Resource;
  assert.ok(resources.length > 0 && resources.every((r) => r.startsWith('arn:aws:execute-api:eu-west-1:210987654321:zyxw987654/beta/')), resources.join());
});
