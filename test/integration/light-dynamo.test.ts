/**
 * The authorizer's SDK-free DynamoDB path (lambdas/adapters/dynamo/light-*.ts): SigV4 against AWS's published
 * test vectors and against the AWS SDK's own signature, the session lookup against the real embedded store
 * (same answers as the SDK adapter), retries, timeouts and failing closed, and the Lambda entry end to end.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { BatchGetItemCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { APIGatewayAuthorizerResult, APIGatewayTokenAuthorizerEvent } from 'aws-lambda';
import { ManualClock } from '../../lambdas/core/clock.js';
import { DependencyUnavailableError, ConfigError } from '../../lambdas/core/errors.js';
import { RevocationCheck } from '../../lambdas/core/revocation.js';
import type { SessionStatus, SessionStatusSource } from '../../lambdas/core/ports.js';
import { DynamoSessionStore } from '../../lambdas/adapters/dynamo/session-store.js';
import { DynamoUserStore } from '../../lambdas/adapters/dynamo/user-store.js';
import { SigV4Signer } from '../../lambdas/adapters/dynamo/light-sigv4.js';
import { credentialsFromEnv, LightDynamoClient, LightDynamoError } from '../../lambdas/adapters/dynamo/light-client.js';
import type { DynamoCaller } from '../../lambdas/adapters/dynamo/client.js';
import { createSdkDynamoCaller } from '../../lambdas/adapters/dynamo/sdk-caller.js';
import { DynamoSessionStatusSource, sessionStatusFromEnv } from '../../lambdas/adapters/dynamo/session-status.js';
import { goodClaims, jwksOf, newTestKey, signEs256 } from '../helpers/jwt.js';
import { startTestTable, type TestTable } from '../helpers/dynamo.js';

// AWS SigV4 test suite (aws-sig-v4-test-suite) credentials and time.
const SUITE_CREDS = { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY' };
const SUITE_DATE = new Date('2015-08-30T12:36:00Z');

describe('SigV4', () => {
  test('get-vanilla and post-vanilla from the AWS SigV4 test suite', () => {
    const signer = new SigV4Signer(SUITE_CREDS, 'us-east-1', 'service');
    const prefix = 'AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=host;x-amz-date, Signature=';
    const get = signer.sign({ method: 'GET', host: 'example.amazonaws.com', path: '/', headers: {}, body: '' }, SUITE_DATE);
    assert.equal(get.authorization, `${prefix}5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31`);
    assert.equal(get['x-amz-date'], '20150830T123600Z');
    const post = signer.sign({ method: 'POST', host: 'example.amazonaws.com', path: '/', headers: {}, body: '' }, SUITE_DATE);
    assert.equal(post.authorization, `${prefix}5da7c1a2acd57cee7505fc6676e4e544621c30862966e37dddb68e92efbe5d6b`);
  });

  test('the IAM ListUsers example of the AWS documentation (query string, content-type)', () => {
    const signer = new SigV4Signer(SUITE_CREDS, 'us-east-1', 'iam');
    const h = signer.sign(
      {
        method: 'GET',
        host: 'iam.amazonaws.com',
        path: '/',
        query: 'Action=ListUsers&Version=2010-05-08',
        headers: { 'Content-Type': 'application/x-www-form-urlencoded; charset=utf-8' },
        body: '',
      },
      SUITE_DATE,
    );
    assert.equal(
      h.authorization,
      'AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/iam/aws4_request, SignedHeaders=content-type;host;x-amz-date, Signature=5d672d79c15b13162d9279b0855cfba6789a8edb4c82c400e06b5924a6f2b5d7',
    );
  });

  test('same signature as the AWS SDK for a DynamoDB BatchGetItem with temporary credentials', async () => {
    const creds = { accessKeyId: 'ASIAEXAMPLE', secretAccessKey: 'secret/EXAMPLE+key', sessionToken: 'FwoGZXIvYXdzEXAMPLE//token=' };
    let captured: { headers: Record<string, string>; body: string } | undefined;
    const sdk = new DynamoDBClient({
      region: 'eu-west-1',
      credentials: creds,
      maxAttempts: 1,
      requestHandler: {
        handle: async (req: { headers: Record<string, string>; body: unknown }) => {
          const body = req.body;
          captured = { headers: req.headers, body: typeof body === 'string' ? body : new TextDecoder().decode(body as Uint8Array) };
          throw new Error('captured');
        },
      },
    });
    await assert.rejects(
      sdk.send(new BatchGetItemCommand({ RequestItems: { t: { Keys: [{ pk: { S: 'SESSION#x' }, sk: { S: 'META' } }], ConsistentRead: true } } })),
      /captured/,
    );
    sdk.destroy();
    assert.ok(captured);
    const sdkHeaders = captured.headers;
    const auth = sdkHeaders.authorization!;
    const signedNames = /SignedHeaders=([^,]+)/.exec(auth)![1]!.split(';');
    const date = sdkHeaders['x-amz-date']!;
    const when = new Date(`${date.slice(0, 4)}-${date.slice(4, 6)}-${date.slice(6, 8)}T${date.slice(9, 11)}:${date.slice(11, 13)}:${date.slice(13, 15)}Z`);
    // Sign exactly the headers the SDK signed (minus those our signer adds itself), the same body and time.
    const given: Record<string, string> = {};
    for (const name of signedNames) {
      if (!['host', 'x-amz-date', 'x-amz-security-token'].includes(name)) given[name] = sdkHeaders[name]!;
    }
    const ours = new SigV4Signer(creds, 'eu-west-1', 'dynamodb').sign(
      { method: 'POST', host: sdkHeaders.host!, path: '/', headers: given, body: captured.body },
      when,
    );
    assert.equal(ours.authorization, auth);
    assert.equal(ours['x-amz-security-token'], creds.sessionToken);
  });
});

describe('credentials', () => {
  test('from the Lambda environment, with the session token when there is one', () => {
    assert.deepEqual(credentialsFromEnv({ AWS_ACCESS_KEY_ID: 'a', AWS_SECRET_ACCESS_KEY: 'b', AWS_SESSION_TOKEN: 'c' }, false), {
      accessKeyId: 'a',
      secretAccessKey: 'b',
      sessionToken: 'c',
    });
    assert.deepEqual(credentialsFromEnv({ AWS_ACCESS_KEY_ID: 'a', AWS_SECRET_ACCESS_KEY: 'b' }, false), { accessKeyId: 'a', secretAccessKey: 'b' });
  });
  test('a local endpoint accepts fixed credentials; the cloud without credentials is a cold-start ConfigError', () => {
    assert.equal(credentialsFromEnv({}, true).accessKeyId, 'local');
    assert.throws(() => credentialsFromEnv({}, false), ConfigError);
  });
});

describe('against the embedded store', () => {
  let table: TestTable;
  let client: LightDynamoClient;
  let light: DynamoSessionStatusSource;
  let sdkSource: DynamoSessionStatusSource;
  const sdk = (): DynamoCaller => sdkCaller!;
  let sdkCaller: DynamoCaller | undefined;
  let sessions: DynamoSessionStore;
  let users: DynamoUserStore;
  const t0 = Date.UTC(2026, 0, 1);

  before(async () => {
    table = await startTestTable();
    sdkCaller = createSdkDynamoCaller({ region: 'local', endpoint: table.endpoint });
    client = new LightDynamoClient({ region: 'local', endpoint: table.endpoint, credentials: { accessKeyId: 'local', secretAccessKey: 'local' } });
    light = new DynamoSessionStatusSource({ client: client, tableName: table.tableName });
    sdkSource = new DynamoSessionStatusSource({ client: sdk(), tableName: table.tableName });
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
  after(async () => {
    client.destroy();
    await table.close();
  });

  test('the same SessionStatus as the SDK adapter, in one round trip each', async () => {
    const cases: [string, string][] = [
      ['s-live', 'alice'],
      ['s-revoked', 'alice'],
      ['s-dora', 'dora'],
      ['s-ghost', 'ghost'],
      ['s-missing', 'alice'],
      ['s-live', 'nobody'],
    ];
    for (const [sid, username] of cases) {
      const before = client.requests;
      const got: SessionStatus = await light.lookup(sid, username);
      assert.equal(client.requests - before, 1, `${sid}/${username}: one request`);
      assert.deepEqual(got, await sdkSource.lookup(sid, username), `${sid}/${username}`);
    }
    assert.deepEqual(await light.lookup('s-live', 'alice'), {
      session: { username: 'alice', createdAt: t0, expiresAt: t0 + 3600_000 },
      user: { status: 'active', sessionsValidAfter: 7 },
    });
  });

  test('through RevocationCheck: one round trip per session per window, also for a concurrent burst', async () => {
    const clock = new ManualClock(t0 + 1000);
    const check = new RevocationCheck(light, clock, { ttlMs: 30_000, maxEntries: 100 });
    const before = client.requests;
    await Promise.all(Array.from({ length: 20 }, () => check.assertLive('s-live', 'alice')));
    for (let i = 0; i < 20; i++) await check.assertLive('s-live', 'alice');
    assert.equal(check.lookups, 1);
    assert.equal(client.requests - before, 1);
    await assert.rejects(check.assertLive('s-revoked', 'alice'), { name: 'InvalidTokenError', reason: 'revoked' });
    await assert.rejects(check.assertLive('s-revoked', 'alice'), { name: 'InvalidTokenError', reason: 'revoked' });
    assert.equal(check.lookups, 2);
    clock.advance(30_000);
    await check.assertLive('s-live', 'alice');
    assert.equal(check.lookups, 3, 'a new window, a new lookup');
  });

  test('a missing table fails closed without a retry; a dead endpoint fails closed after one retry', async () => {
    const other = new DynamoSessionStatusSource({ client: client, tableName: 'no-such-table' });
    const before = client.requests;
    await assert.rejects(other.lookup('s-live', 'alice'), (err: unknown) => {
      assert.ok(err instanceof DependencyUnavailableError);
      assert.match(err.message, /ResourceNotFoundException/);
      return true;
    });
    assert.equal(client.requests - before, 1);

    const dead = new LightDynamoClient({ region: 'local', endpoint: 'http://127.0.0.1:9', credentials: { accessKeyId: 'x', secretAccessKey: 'y' } });
    await assert.rejects(new DynamoSessionStatusSource({ client: dead, tableName: 't' }).lookup('s', 'u'), DependencyUnavailableError);
    assert.equal(dead.requests, 2);
    dead.destroy();
  });

  test('the Lambda entry (lambdas/authorizer/handler.ts) end to end, configured from its environment', async () => {
    const key = newTestKey();
    const saved = { ...process.env };
    Object.assign(process.env, {
      TOKEN_ISSUER: 'https://issuer.test',
      TOKEN_AUDIENCE: 'tokengate-api',
      JWKS_JSON: JSON.stringify(jwksOf(key)),
      TABLE_NAME: table.tableName,
      DYNAMODB_ENDPOINT: table.endpoint,
      AWS_REGION: 'local',
      POWERTOOLS_METRICS_DISABLED: 'false',
    });
    const lines: string[] = [];
    const write = process.stdout.write.bind(process.stdout);
    try {
      const { handler } = (await import('../../lambdas/authorizer/handler.js')) as {
        handler: (e: APIGatewayTokenAuthorizerEvent) => Promise<APIGatewayAuthorizerResult>;
      };
      const nowS = Math.floor(Date.now() / 1000);
      const token = signEs256(key, { alg: 'ES256', typ: 'at+jwt', kid: key.jwk.kid }, goodClaims(nowS, { sid: 's-now', sub: 'alice' }));
      const methodArn = 'arn:aws:execute-api:us-east-1:123456789012:abcdef1234/prod/GET/orders';
      process.stdout.write = ((chunk: string | Uint8Array) => (lines.push(String(chunk)), true)) as typeof process.stdout.write;
      const res = await handler({ type: 'TOKEN', authorizationToken: `Bearer ${token}`, methodArn });
      await assert.rejects(handler({ type: 'TOKEN', authorizationToken: 'Bearer a.b.c', methodArn }), /^Error: Unauthorized$/);
      process.stdout.write = write;
      assert.equal(res.principalId, 'alice');
      assert.equal(res.policyDocument.Statement[0]?.Effect, 'Allow');
      // The first invocation publishes the counters as one CloudWatch EMF line; the second one does not write.
      assert.equal(lines.length, 1);
      const emf = JSON.parse(lines[0]!) as { _aws: { CloudWatchMetrics: { Namespace: string; Metrics: { Name: string }[] }[] }; AuthorizerAllow: number };
      assert.equal(emf.AuthorizerAllow, 1);
      assert.deepEqual(emf._aws.CloudWatchMetrics[0]!.Metrics, [{ Name: 'AuthorizerAllow', Unit: 'Count' }]);
    } finally {
      process.stdout.write = write;
      for (const k of Object.keys(process.env)) if (!(k in saved)) delete process.env[k];
      Object.assign(process.env, saved);
    }
  });

  test('sessionStatusFromEnv reads TABLE_NAME, AWS_REGION and DYNAMODB_ENDPOINT', async () => {
    const source = sessionStatusFromEnv({ TABLE_NAME: table.tableName, AWS_REGION: 'local', DYNAMODB_ENDPOINT: table.endpoint });
    assert.equal((await source.lookup('s-live', 'alice')).session?.username, 'alice');
  });
});

describe('against a scripted endpoint', () => {
  let server: Server;
  let endpoint: string;
  let script: ((req: IncomingMessage, body: string, res: ServerResponse) => void)[] = [];
  const seen: { target: string | undefined; body: string }[] = [];

  before(async () => {
    server = createServer((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString()));
      req.on('end', () => {
        seen.push({ target: req.headers['x-amz-target'] as string | undefined, body });
        const next = script.shift();
        if (next) next(req, body, res);
        else res.writeHead(500).end('{}');
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(async () => {
    server.closeAllConnections();
    await new Promise<void>((r) => server.close(() => r()));
  });

  const reply = (status: number, body: unknown) => (_req: IncomingMessage, _body: string, res: ServerResponse) => {
    res.writeHead(status, { 'content-type': 'application/x-amz-json-1.0' }).end(JSON.stringify(body));
  };
  const item = (pk: string, extra: Record<string, { S?: string; N?: string }>) => ({ pk: { S: pk }, ...extra });

  test('throttling is retried once; UnprocessedKeys are asked for again', async () => {
    const client = new LightDynamoClient({ region: 'local', endpoint, credentials: { accessKeyId: 'a', secretAccessKey: 'b' } });
    seen.length = 0;
    script = [
      reply(400, { __type: 'com.amazonaws.dynamodb.v20120810#ProvisionedThroughputExceededException', message: 'slow down' }),
      reply(200, {
        Responses: { t: [item('SESSION#s', { username: { S: 'u' }, createdAt: { N: '5' }, expiresAtMs: { N: '99' } })] },
        UnprocessedKeys: { t: { Keys: [{ pk: { S: 'USER#u' }, sk: { S: 'PROFILE' } }] } },
      }),
      reply(200, { Responses: { t: [item('USER#u', { status: { S: 'active' }, sessionsValidAfter: { N: '1' } })] }, UnprocessedKeys: {} }),
    ];
    const status = await new DynamoSessionStatusSource({ client: client, tableName: 't' }).lookup('s', 'u');
    assert.deepEqual(status, { session: { username: 'u', createdAt: 5, expiresAt: 99 }, user: { status: 'active', sessionsValidAfter: 1 } });
    assert.equal(client.requests, 3);
    assert.ok(seen.every((s) => s.target === 'DynamoDB_20120810.BatchGetItem'));
    const third = JSON.parse(seen[2]!.body) as { RequestItems: { t: { Keys: unknown[]; ConsistentRead: boolean } } };
    assert.deepEqual(third.RequestItems.t.Keys, [{ pk: { S: 'USER#u' }, sk: { S: 'PROFILE' } }]);
    assert.equal(third.RequestItems.t.ConsistentRead, true);
    client.destroy();
  });

  test('keys still unprocessed after three asks, a client error, or no answer in time: fail closed', async () => {
    const client = new LightDynamoClient({ region: 'local', endpoint, credentials: { accessKeyId: 'a', secretAccessKey: 'b' }, timeoutMs: 150 });
    const unprocessed = reply(200, { Responses: { t: [] }, UnprocessedKeys: { t: { Keys: [{ pk: { S: 'USER#u' }, sk: { S: 'PROFILE' } }] } } });
    script = [unprocessed, unprocessed, unprocessed];
    await assert.rejects(new DynamoSessionStatusSource({ client: client, tableName: 't' }).lookup('s', 'u'), DependencyUnavailableError);

    script = [reply(400, { __type: 'com.amazon.coral.validate#ValidationException', message: 'bad' })];
    await assert.rejects(client.call('BatchGetItem', {}), (err: unknown) => err instanceof LightDynamoError && err.name === 'ValidationException' && !err.retryable);

    const silent = () => {}; // never answers
    script = [silent, silent];
    const started = Date.now();
    const before = client.requests;
    await assert.rejects(new DynamoSessionStatusSource({ client: client, tableName: 't' }).lookup('s', 'u'), (err: unknown) => {
      assert.ok(err instanceof DependencyUnavailableError);
      assert.match(err.message, /TimeoutError/);
      return true;
    });
    assert.equal(client.requests - before, 2);
    assert.ok(Date.now() - started < 2000);
    client.destroy();
  });
});

// A source double for the concurrency property without a store (kept here beside the real-store test above).
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
