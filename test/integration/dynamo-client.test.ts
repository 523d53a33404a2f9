/**
 * The stores' DynamoDB client (lambdas/adapters/dynamo/sdk-caller.ts, @aws-sdk/client-dynamodb): every operation
 * the stores use against the real embedded store, the session lookup in one round trip, the SDK's endpoint
 * setting (AWS_ENDPOINT_URL_DYNAMODB), retries with the SDK's strategy, the total deadline per call against
 * stores that are dead, silent or trickle bytes, failing closed, and the authorizer's Lambda entry end to end.
 * Requests are counted where they arrive (a counting relay or a scripted server), never estimated.
 */
import { afterAll, beforeAll, describe, test } from '@jest/globals';
import assert from 'node:assert/strict';
import { createServer, request as httpRequest, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { APIGatewayAuthorizerResult, APIGatewayTokenAuthorizerEvent, Context } from 'aws-lambda';
import { ManualClock } from '../../lambdas/core/clock.js';
import { DependencyUnavailableError } from '../../lambdas/core/errors.js';
import { RevocationCheck } from '../../lambdas/core/revocation.js';
import type { SessionStatus, SessionStatusSource } from '../../lambdas/core/ports.js';
import { DynamoSessionStore } from '../../lambdas/adapters/dynamo/session-store.js';
import { DynamoUserStore } from '../../lambdas/adapters/dynamo/user-store.js';
import { createDynamoClient, guarded, isConditionFailed, type DynamoCaller, type Item } from '../../lambdas/adapters/dynamo/client.js';
import { DynamoSessionStatusSource, sessionStatusFromEnv } from '../../lambdas/adapters/dynamo/session-status.js';
import { createLambdaContext } from '../../lib/local/lambda-context.js';
import { authorizerRoutes } from '../../lib/bundling.js';
import { routes } from '../helpers/demo-routes.js';
import { goodClaims, jwksOf, newTestKey, signEs256 } from '../helpers/jwt.js';
import { startTestTable, type TestTable } from '../helpers/dynamo.js';

/** A short deadline for the failure tests: the bound is what is asserted, not how long it takes. */
const DEADLINE_MS = 600;
/** Slack on top of a deadline for timers and a loaded machine (2 cores shared). */
const MARGIN_MS = 400;
/** The authorizer's Lambda timeout (lib/tokengate.ts, FUNCTIONS.authorizer.timeout). */
const AUTHORIZER_TIMEOUT_MS = 3000;

async function listen(server: Server): Promise<string> {
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

async function stop(server: Server): Promise<void> {
  server.closeAllConnections();
  await new Promise<void>((r) => server.close(() => r()));
}

/** A relay in front of `target` that counts the requests passing through, by DynamoDB operation. */
async function startCountingRelay(target: string) {
  const url = new URL(target);
  const counts: string[] = [];
  const server = createServer((req, res) => {
    counts.push(String(req.headers['x-amz-target'] ?? '').replace('DynamoDB_20120810.', ''));
    const up = httpRequest({ hostname: url.hostname, port: url.port, path: req.url, method: req.method, headers: req.headers }, (r) => {
      res.writeHead(r.statusCode ?? 502, r.headers);
      r.pipe(res);
    });
    up.on('error', () => res.destroy());
    req.pipe(up);
  });
  const endpoint = await listen(server);
  return { endpoint, counts, close: () => stop(server) };
}

/** Measures how long `fn` takes to settle (performance.now), and its rejection. */
async function timedRejection(fn: () => Promise<unknown>): Promise<{ ms: number; err: unknown }> {
  const t0 = performance.now();
  try {
    await fn();
  } catch (err) {
    return { ms: performance.now() - t0, err };
  }
  assert.fail('expected a rejection');
}

/** Sets env variables for the duration of `fn`, then restores the previous environment exactly. */
async function withEnv<T>(vars: Record<string, string>, fn: () => Promise<T>): Promise<T> {
  const saved = { ...process.env };
  Object.assign(process.env, vars);
  try {
    return await fn();
  } finally {
    for (const k of Object.keys(process.env)) if (!(k in saved)) delete process.env[k];
    Object.assign(process.env, saved);
  }
}

describe('against the embedded store', () => {
  let table: TestTable;
  let relay: Awaited<ReturnType<typeof startCountingRelay>>;
  let client: DynamoCaller;
  let source: DynamoSessionStatusSource;
  let sessions: DynamoSessionStore;
  let users: DynamoUserStore;
  const t0 = Date.UTC(2026, 0, 1);

  beforeAll(async () => {
    table = await startTestTable();
    relay = await startCountingRelay(table.endpoint);
    client = createDynamoClient({ region: 'local', endpoint: relay.endpoint });
    source = new DynamoSessionStatusSource({ client, tableName: table.tableName });
    sessions = new DynamoSessionStore(table);
    users = new DynamoUserStore(table);
    await users.create({ username: 'alice', passwordHash: '$scrypt$x', permissions: [], status: 'active', createdAt: 0, sessionsValidAfter: 7 });
    await users.create({ username: 'dora', passwordHash: '$scrypt$x', permissions: [], status: 'disabled', createdAt: 0, sessionsValidAfter: 9 });
    for (const [sid, username] of [['s-live', 'alice'], ['s-revoked', 'alice'], ['s-dora', 'dora'], ['s-ghost', 'ghost']] as const) {
      await sessions.create(
        { sid, username, createdAt: t0, expiresAt: t0 + 3600_000, generation: 0, refreshHash: `h-${sid}` },
        { hash: `h-${sid}`, sid, generation: 0, expiresAt: t0 + 3600_000 },
      );
    }
    await sessions.revoke('s-revoked', t0 + 5);
    const now = Date.now();
    await sessions.create(
      { sid: 's-now', username: 'alice', createdAt: now, expiresAt: now + 3600_000, generation: 0, refreshHash: 'h-s-now' },
      { hash: 'h-s-now', sid: 's-now', generation: 0, expiresAt: now + 3600_000 },
    );
  });
  afterAll(async () => {
    client.destroy();
    await relay.close();
    await table.close();
  });

  test('every operation the stores use, with DynamoDB answers and error names', async () => {
    const T = 'ops-table';
    const k = (pk: string, sk: string): Item => ({ pk: { S: pk }, sk: { S: sk } });
    await client.call('CreateTable', {
      TableName: T,
      AttributeDefinitions: [{ AttributeName: 'pk', AttributeType: 'S' }, { AttributeName: 'sk', AttributeType: 'S' }],
      KeySchema: [{ AttributeName: 'pk', KeyType: 'HASH' }, { AttributeName: 'sk', KeyType: 'RANGE' }],
      BillingMode: 'PAY_PER_REQUEST',
    });
    for (let i = 0; ; i++) {
      const d = await client.call<{ Table?: { TableStatus?: string } }>('DescribeTable', { TableName: T });
      if (d.Table?.TableStatus === 'ACTIVE') break;
      assert.ok(i < 200, 'table becomes ACTIVE');
      await new Promise((r) => setTimeout(r, 10));
    }
    const listed = await client.call<{ TableNames?: string[] }>('ListTables', {});
    assert.ok(listed.TableNames?.includes(T));

    await client.call('PutItem', { TableName: T, Item: { ...k('P#1', 'A'), n: { N: '1' } }, ConditionExpression: 'attribute_not_exists(pk)' });
    await client.call('PutItem', { TableName: T, Item: { ...k('P#1', 'B'), n: { N: '2' } } });
    const failed = await client
      .call('PutItem', { TableName: T, Item: k('P#1', 'A'), ConditionExpression: 'attribute_not_exists(pk)' })
      .catch((e: unknown) => e);
    assert.ok(isConditionFailed(failed), 'a failed condition keeps its DynamoDB name');
    await assert.rejects(guarded('put', () => client.call('PutItem', { TableName: T, Item: k('P#1', 'A'), ConditionExpression: 'attribute_not_exists(pk)' })), {
      name: 'ConditionalCheckFailedException',
    });

    const got = await client.call<{ Item?: Item }>('GetItem', { TableName: T, Key: k('P#1', 'A'), ConsistentRead: true });
    assert.equal(got.Item?.n?.N, '1');
    const updated = await client.call<{ Attributes?: Item }>('UpdateItem', {
      TableName: T,
      Key: k('P#1', 'A'),
      UpdateExpression: 'SET #n = #n + :one',
      ExpressionAttributeNames: { '#n': 'n' },
      ExpressionAttributeValues: { ':one': { N: '1' } },
      ReturnValues: 'ALL_NEW',
    });
    assert.equal(updated.Attributes?.n?.N, '2');
    const queried = await client.call<{ Items?: Item[] }>('Query', {
      TableName: T,
      KeyConditionExpression: 'pk = :pk',
      ExpressionAttributeValues: { ':pk': { S: 'P#1' } },
    });
    assert.deepEqual(queried.Items?.map((i) => i.sk?.S), ['A', 'B']);
    const batch = await client.call<{ Responses?: Record<string, Item[]> }>('BatchGetItem', {
      RequestItems: { [T]: { Keys: [k('P#1', 'A'), k('P#1', 'B'), k('P#1', 'C')], ConsistentRead: true } },
    });
    assert.equal(batch.Responses?.[T]?.length, 2);
    await client.call('DeleteItem', { TableName: T, Key: k('P#1', 'B') });
    const scanned = await client.call<{ Items?: Item[] }>('Scan', { TableName: T });
    assert.deepEqual(scanned.Items?.map((i) => i.sk?.S), ['A']);

    // A client error is the caller's bug or a missing resource: the stores fail closed, the SDK does not retry it.
    const before = relay.counts.length;
    await assert.rejects(client.call('GetItem', { TableName: 'no-such-table', Key: k('x', 'y') }), { name: 'ResourceNotFoundException' });
    assert.equal(relay.counts.length - before, 1);
  });

  test('session status: the expected answers, in one round trip each', async () => {
    const cases: [string, string, SessionStatus][] = [
      ['s-live', 'alice', { session: { username: 'alice', createdAt: t0, expiresAt: t0 + 3600_000 }, user: { status: 'active', sessionsValidAfter: 7 } }],
      ['s-revoked', 'alice', { session: { username: 'alice', createdAt: t0, expiresAt: t0 + 3600_000, revokedAt: t0 + 5 }, user: { status: 'active', sessionsValidAfter: 7 } }],
      ['s-dora', 'dora', { session: { username: 'dora', createdAt: t0, expiresAt: t0 + 3600_000 }, user: { status: 'disabled', sessionsValidAfter: 9 } }],
      ['s-ghost', 'ghost', { session: { username: 'ghost', createdAt: t0, expiresAt: t0 + 3600_000 } }],
      ['s-missing', 'alice', { user: { status: 'active', sessionsValidAfter: 7 } }],
      ['s-live', 'nobody', { session: { username: 'alice', createdAt: t0, expiresAt: t0 + 3600_000 } }],
    ];
    for (const [sid, username, expected] of cases) {
      const before = relay.counts.length;
      assert.deepEqual(await source.lookup(sid, username), expected, `${sid}/${username}`);
      assert.deepEqual(relay.counts.slice(before), ['BatchGetItem'], `${sid}/${username}: one request`);
    }
  });

  test('through RevocationCheck: one round trip per session per window, also for a concurrent burst', async () => {
    const clock = new ManualClock(t0 + 1000);
    const check = new RevocationCheck(source, clock, { ttlMs: 30_000, maxEntries: 100 });
    const before = relay.counts.length;
    await Promise.all(Array.from({ length: 20 }, () => check.assertLive('s-live', 'alice')));
    for (let i = 0; i < 20; i++) await check.assertLive('s-live', 'alice');
    assert.equal(check.lookups, 1);
    assert.equal(relay.counts.length - before, 1);
    await assert.rejects(check.assertLive('s-revoked', 'alice'), { name: 'InvalidTokenError', reason: 'revoked' });
    await assert.rejects(check.assertLive('s-revoked', 'alice'), { name: 'InvalidTokenError', reason: 'revoked' });
    assert.equal(check.lookups, 2);
    clock.advance(30_000);
    await check.assertLive('s-live', 'alice');
    assert.equal(check.lookups, 3, 'a new window, a new lookup');
  });

  test('a missing table fails closed without a retry; a dead endpoint fails closed within the deadline', async () => {
    const other = new DynamoSessionStatusSource({ client, tableName: 'no-such-table' });
    const before = relay.counts.length;
    await assert.rejects(other.lookup('s-live', 'alice'), (err: unknown) => {
      assert.ok(err instanceof DependencyUnavailableError);
      assert.match(err.message, /ResourceNotFoundException/);
      return true;
    });
    assert.equal(relay.counts.length - before, 1);

    const dead = createDynamoClient({ region: 'local', endpoint: 'http://127.0.0.1:9', deadlineMs: DEADLINE_MS });
    const { ms, err } = await timedRejection(() => new DynamoSessionStatusSource({ client: dead, tableName: 't' }).lookup('s', 'u'));
    assert.ok(err instanceof DependencyUnavailableError, String(err));
    assert.ok(ms < DEADLINE_MS + MARGIN_MS, `${ms.toFixed(0)} ms`);
    await assert.rejects(new DynamoUserStore({ client: dead, tableName: 't' }).get('u'), DependencyUnavailableError);
    dead.destroy();
  });

  test('AWS_ENDPOINT_URL_DYNAMODB is honoured when no endpoint is passed (the SDK reads it itself)', async () => {
    const before = relay.counts.length;
    const names = await withEnv(
      { AWS_ENDPOINT_URL_DYNAMODB: relay.endpoint, AWS_ACCESS_KEY_ID: 'local', AWS_SECRET_ACCESS_KEY: 'local' },
      async () => {
        const viaEnv = createDynamoClient({ region: 'us-east-1' });
        try {
          return (await viaEnv.call<{ TableNames?: string[] }>('ListTables', {})).TableNames;
        } finally {
          viaEnv.destroy();
        }
      },
    );
    assert.ok(names?.includes(table.tableName));
    assert.deepEqual(relay.counts.slice(before), ['ListTables'], 'the request went to the configured endpoint');
  });

  test('sessionStatusFromEnv reads TABLE_NAME, AWS_REGION and DYNAMODB_ENDPOINT', async () => {
    const fromEnv = sessionStatusFromEnv({ TABLE_NAME: table.tableName, AWS_REGION: 'local', DYNAMODB_ENDPOINT: table.endpoint });
    assert.equal((await fromEnv.lookup('s-live', 'alice')).session?.username, 'alice');
  });

  test('the Lambda entry (lambdas/authorizer/handler.ts) end to end: Allow, Unauthorized, Powertools context and metrics', async () => {
    const key = newTestKey();
    const lines: string[] = [];
    await withEnv(
      {
        TOKEN_ISSUER: 'https://issuer.test',
        TOKEN_AUDIENCE: 'tokengate-api',
        JWKS_JSON: JSON.stringify(jwksOf(key)),
        TABLE_NAME: table.tableName,
        DYNAMODB_ENDPOINT: table.endpoint,
        AWS_REGION: 'local',
        // Unbundled, the entry reads its route table at run time (a bundle has it compiled in: lib/bundling.ts).
        TOKENGATE_ROUTES: JSON.stringify(authorizerRoutes(routes)),
        POWERTOOLS_METRICS_DISABLED: 'false',
        POWERTOOLS_METRICS_NAMESPACE: 'tokengate',
        // What Lambda sets for an on-demand instance; Powertools counts a cold start only then.
        AWS_LAMBDA_INITIALIZATION_TYPE: 'on-demand',
        POWERTOOLS_LOG_LEVEL: 'INFO',
      },
      async () => {
        const { handler } = (await import(new URL('../../lambdas/authorizer/handler.ts?entry=allow', import.meta.url).href)) as {
          handler: (e: APIGatewayTokenAuthorizerEvent, c?: Context) => Promise<APIGatewayAuthorizerResult>;
        };
        const nowS = Math.floor(Date.now() / 1000);
        const token = signEs256(key, { alg: 'ES256', typ: 'at+jwt', kid: key.jwk.kid }, goodClaims(nowS, { sid: 's-now', sub: 'alice' }));
        const methodArn = 'arn:aws:execute-api:us-east-1:123456789012:abcdef1234/prod/GET/orders';
        const context = createLambdaContext('tokengate-authorizer', { region: 'us-east-1', accountId: '123456789012' }, 3000);
        const write = process.stdout.write.bind(process.stdout);
        process.stdout.write = ((chunk: string | Uint8Array) => (lines.push(String(chunk)), true)) as typeof process.stdout.write;
        let res: APIGatewayAuthorizerResult;
        try {
          res = await handler({ type: 'TOKEN', authorizationToken: `Bearer ${token}`, methodArn }, context);
          await assert.rejects(handler({ type: 'TOKEN', authorizationToken: 'Bearer a.b.c', methodArn }, context), /^Error: Unauthorized$/);
        } finally {
          process.stdout.write = write;
        }
        assert.equal(res.principalId, 'alice');
        assert.equal(res.policyDocument.Statement[0]?.Effect, 'Allow');
      },
    );
    // EMF lines only: a ColdStart metric on the first invocation, then one flush per invocation with its count.
    type Emf = { _aws: { CloudWatchMetrics: { Namespace: string; Metrics: { Name: string }[] }[] } } & Record<string, unknown>;
    const emf = lines.flatMap((l) => l.split('\n')).filter((l) => l.includes('"_aws"')).map((l) => JSON.parse(l) as Emf);
    const names = emf.map((e) => e._aws.CloudWatchMetrics[0]!.Metrics.map((m) => m.Name).join(','));
    assert.deepEqual(names, ['ColdStart', 'AuthorizerAllow', 'AuthorizerUnauthorized']);
    assert.equal(emf[0]!.function_name, 'tokengate-authorizer');
    assert.equal(emf[1]!.AuthorizerAllow, 1);
    assert.equal(emf[1]!.service, 'authorizer');
    assert.ok(emf.every((e) => e._aws.CloudWatchMetrics[0]!.Namespace === 'tokengate'));
  });
});

describe('against a scripted endpoint', () => {
  type Step = (req: IncomingMessage, body: string, res: ServerResponse) => void;
  let server: Server;
  let endpoint: string;
  let script: Step[] = [];
  const seen: { target: string | undefined; attempt: string | undefined; body: string; at: number }[] = [];
  const timers = new Set<NodeJS.Timeout>();

  beforeAll(async () => {
    server = createServer((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString()));
      req.on('end', () => {
        seen.push({ target: req.headers['x-amz-target'] as string | undefined, attempt: req.headers['amz-sdk-request'] as string | undefined, body, at: performance.now() });
        const next = script.shift();
        if (next) next(req, body, res);
        else res.writeHead(500).end('{}');
      });
    });
    endpoint = await listen(server);
  });
  afterAll(async () => {
    for (const t of timers) clearInterval(t);
    await stop(server);
  });

  const reply = (status: number, body: unknown): Step => (_req, _body, res) => {
    res.writeHead(status, { 'content-type': 'application/x-amz-json-1.0' }).end(JSON.stringify(body));
  };
  /** Answers one byte every 200 ms, forever: `headers` first (status line and headers), or after them (the body). */
  const trickle = (what: 'headers' | 'body'): Step => (_req, _body, res) => {
    const socket = res.socket!;
    const text = what === 'headers' ? 'HTTP/1.1 200 OK\r\ncontent-type: application/x-amz-json-1.0\r\n' : '{"Responses":{"t":[]}, "pad": "';
    if (what === 'body') socket.write('HTTP/1.1 200 OK\r\ncontent-type: application/x-amz-json-1.0\r\ncontent-length: 100000\r\n\r\n');
    let i = 0;
    const timer = setInterval(() => {
      if (socket.destroyed) return void (clearInterval(timer), timers.delete(timer));
      socket.write(text[i % text.length]!);
      i++;
    }, 200);
    timers.add(timer);
  };
  const silent: Step = () => {}; // never answers
  const item = (pk: string, extra: Record<string, { S?: string; N?: string }>) => ({ pk: { S: pk }, ...extra });
  const fresh = (deadlineMs = DEADLINE_MS) => createDynamoClient({ region: 'local', endpoint, deadlineMs });

  test('a 500 is retried by the SDK strategy: success on the second request', async () => {
    const client = fresh(5000);
    seen.length = 0;
    script = [reply(500, { __type: 'com.amazonaws.dynamodb.v20120810#InternalServerError', message: 'oops' }), reply(200, { Item: item('USER#u', {}) })];
    const out = await client.call<{ Item?: Item; $metadata?: { attempts?: number } }>('GetItem', { TableName: 't', Key: item('USER#u', {}) });
    assert.equal(out.Item?.pk?.S, 'USER#u');
    assert.equal(seen.length, 2);
    assert.deepEqual(seen.map((s) => s.attempt?.split(';')[0]), ['attempt=1', 'attempt=2']);
    assert.equal(out.$metadata?.attempts, 2);
    client.destroy();
  });

  test('throttling is retried; UnprocessedKeys are asked for again', async () => {
    const client = fresh(5000);
    seen.length = 0;
    script = [
      reply(400, { __type: 'com.amazonaws.dynamodb.v20120810#ProvisionedThroughputExceededException', message: 'slow down' }),
      reply(200, {
        Responses: { t: [item('SESSION#s', { username: { S: 'u' }, createdAt: { N: '5' }, expiresAtMs: { N: '99' } })] },
        UnprocessedKeys: { t: { Keys: [{ pk: { S: 'USER#u' }, sk: { S: 'PROFILE' } }] } },
      }),
      reply(200, { Responses: { t: [item('USER#u', { status: { S: 'active' }, sessionsValidAfter: { N: '1' } })] }, UnprocessedKeys: {} }),
    ];
    const status = await new DynamoSessionStatusSource({ client, tableName: 't' }).lookup('s', 'u');
    assert.deepEqual(status, { session: { username: 'u', createdAt: 5, expiresAt: 99 }, user: { status: 'active', sessionsValidAfter: 1 } });
    assert.equal(seen.length, 3);
    assert.ok(seen.every((s) => s.target === 'DynamoDB_20120810.BatchGetItem'));
    const third = JSON.parse(seen[2]!.body) as { RequestItems: { t: { Keys: unknown[]; ConsistentRead: boolean } } };
    assert.deepEqual(third.RequestItems.t.Keys, [{ pk: { S: 'USER#u' }, sk: { S: 'PROFILE' } }]);
    assert.equal(third.RequestItems.t.ConsistentRead, true);
    client.destroy();
  });

  test('a store that keeps failing: the SDK gives up after its attempts, the store fails closed', async () => {
    const client = fresh(5000);
    seen.length = 0;
    script = []; // every request answers 500
    await assert.rejects(new DynamoUserStore({ client, tableName: 't' }).get('u'), DependencyUnavailableError);
    assert.equal(seen.length, 3, 'maxAttempts 3');
    client.destroy();
  });

  test('keys still unprocessed after three asks, or a client error (not retried): fail closed', async () => {
    const client = fresh();
    const unprocessed = reply(200, { Responses: { t: [] }, UnprocessedKeys: { t: { Keys: [{ pk: { S: 'USER#u' }, sk: { S: 'PROFILE' } }] } } });
    script = [unprocessed, unprocessed, unprocessed];
    await assert.rejects(new DynamoSessionStatusSource({ client, tableName: 't' }).lookup('s', 'u'), DependencyUnavailableError);

    seen.length = 0;
    script = [reply(400, { __type: 'com.amazon.coral.validate#ValidationException', message: 'bad' })];
    await assert.rejects(client.call('BatchGetItem', {}), { name: 'ValidationException' });
    assert.equal(seen.length, 1, 'a client error is not retried');
    client.destroy();
  });

  test('no answer, or bytes trickling in (headers or body): TimeoutError within the deadline, fail closed', async () => {
    for (const [name, step] of [
      ['silent', silent],
      ['trickling headers', trickle('headers')],
      ['trickling body', trickle('body')],
    ] as const) {
      const client = fresh();
      // Every attempt (retries included) meets the same behaviour.
      script = Array.from({ length: 10 }, () => step);
      const { ms, err } = await timedRejection(() => new DynamoSessionStatusSource({ client, tableName: 't' }).lookup('s', 'u'));
      assert.ok(err instanceof DependencyUnavailableError, `${name}: ${String(err)}`);
      assert.match(err.message, /TimeoutError/, name);
      assert.ok(ms < DEADLINE_MS + MARGIN_MS, `${name}: ${ms.toFixed(0)} ms`);
      script = Array.from({ length: 10 }, () => step);
      const direct = await timedRejection(() => client.call('GetItem', { TableName: 't', Key: item('x', {}) }));
      assert.equal((direct.err as Error).name, 'TimeoutError', name);
      assert.ok(direct.ms < DEADLINE_MS + MARGIN_MS, `${name}: ${direct.ms.toFixed(0)} ms`);
      client.destroy();
    }
  });

  test('the authorizer entry against a trickling store throws its fail-closed error before its Lambda timeout', async () => {
    const key = newTestKey();
    script = Array.from({ length: 10 }, () => trickle('body'));
    await withEnv(
      {
        TOKEN_ISSUER: 'https://issuer.test',
        TOKEN_AUDIENCE: 'tokengate-api',
        JWKS_JSON: JSON.stringify(jwksOf(key)),
        TABLE_NAME: 't',
        DYNAMODB_ENDPOINT: endpoint,
        AWS_REGION: 'local',
        TOKENGATE_ROUTES: JSON.stringify(authorizerRoutes(routes)),
        POWERTOOLS_METRICS_DISABLED: 'true',
        POWERTOOLS_LOG_LEVEL: 'SILENT',
      },
      async () => {
        // STORE_DEADLINE_MS is not set: the default deadline is what must fit the authorizer's timeout.
        const { handler } = (await import(new URL('../../lambdas/authorizer/handler.ts?entry=trickle', import.meta.url).href)) as {
          handler: (e: APIGatewayTokenAuthorizerEvent, c?: Context) => Promise<APIGatewayAuthorizerResult>;
        };
        const nowS = Math.floor(Date.now() / 1000);
        const token = signEs256(key, { alg: 'ES256', typ: 'at+jwt', kid: key.jwk.kid }, goodClaims(nowS, { sid: 's1', sub: 'alice' }));
        const methodArn = 'arn:aws:execute-api:us-east-1:123456789012:abcdef1234/prod/GET/orders';
        const context = createLambdaContext('tokengate-authorizer', { region: 'us-east-1', accountId: '123456789012' }, AUTHORIZER_TIMEOUT_MS);
        const { ms, err } = await timedRejection(() => handler({ type: 'TOKEN', authorizationToken: `Bearer ${token}`, methodArn }, context));
        assert.ok(err instanceof Error);
        assert.notEqual(err.message, 'Unauthorized', 'a store failure is a 500, never a 401 (and never an Allow)');
        assert.ok(err.cause instanceof DependencyUnavailableError, String(err.cause));
        assert.ok(ms < AUTHORIZER_TIMEOUT_MS - 250, `answered after ${ms.toFixed(0)} ms, the function times out at ${AUTHORIZER_TIMEOUT_MS}`);
      },
    );
  });
});

// A source double for the concurrency property without a store (kept here beside the real-store tests above).
test('RevocationCheck with the cache off never shares lookups', async () => {
  let calls = 0;
  const source: SessionStatusSource = {
    lookup: async () => {
      calls++;
      await new Promise((r) => setTimeout(r, 5));
      return { session: { username: 'u', createdAt: 2, expiresAt: Date.now() + 60_000 }, user: { status: 'active', sessionsValidAfter: 1 } };
    },
  };
  const check = new RevocationCheck(source, { now: () => Date.now() }, { ttlMs: 0, maxEntries: 10 });
  await Promise.all([check.assertLive('s', 'u'), check.assertLive('s', 'u'), check.assertLive('s', 'u')]);
  assert.equal(calls, 3);
  assert.equal(check.lookups, 3);
});
