/**
 * The table grants against the code, both ways. Every function runs its flows (login with a rehash, failed
 * logins and a lockout, refresh with rotation and reuse, logout of one session and of all, the authorizer's
 * lookup) through its real Lambda entry against the embedded store, behind a recording
 * proxy: every DynamoDB request on the wire is captured with the function that sent it. Then
 * - each request must be allowed by that function's statements in the synthesized template (action, leading
 *   keys, attributes and return values, evaluated as IAM evaluates these condition operators), so the grants
 *   are enough; and
 * - each granted (action, key prefix) must have been used by some request, so the grants are no wider than the
 *   code needs.
 * A store change that touches a new prefix or attribute fails here before it fails in AWS with AccessDenied.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, it } from '@jest/globals';
import type { APIGatewayAuthorizerResult, APIGatewayProxyEvent, APIGatewayProxyResult, APIGatewayTokenAuthorizerEvent } from 'aws-lambda';
import type { ApiFunctionName } from '../../lib/constructs/function-env.js';
import { DynamoUserStore } from '../../lambdas/adapters/dynamo/user-store.js';
import { ensureKeyFile, LocalKeySigner } from '../../lambdas/adapters/local-signer.js';
import { ManualClock } from '../../lambdas/core/clock.js';
import { PasswordHasher } from '../../lambdas/core/passwords.js';
import { UserAdmin } from '../../lambdas/core/users.js';
import { startTestTable, type TestTable } from '../helpers/dynamo.js';
import { actionsOf, logicalId, statementsByRole, synth, type Statement } from './support.js';

interface Recorded {
  fn: ApiFunctionName;
  op: string;
  input: Record<string, unknown>;
}

type AttributeMap = Record<string, { S?: string }>;
type ProxyFn = (e: APIGatewayProxyEvent) => Promise<APIGatewayProxyResult>;
type AuthorizerFn = (e: APIGatewayTokenAuthorizerEvent) => Promise<APIGatewayAuthorizerResult>;

const { stack, tokengate, json } = synth();
const statements = statementsByRole(json);
const tableStatements = (fn: ApiFunctionName): Statement[] =>
  (statements.get(logicalId(stack, tokengate.functions[fn].role)) ?? []).filter((s) => actionsOf([s]).some((a) => a.startsWith('dynamodb:')));

const recorded: Recorded[] = [];
let current: ApiFunctionName | undefined;
let table: TestTable;
let proxy: Server;
const keyDir = mkdtempSync(join(tmpdir(), 'tg-table-access-'));

/** Forwards every request to the embedded store and records it under the function that is running. */
function startProxy(target: URL): Promise<Server> {
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      const op = String(req.headers['x-amz-target'] ?? '').split('.')[1] ?? '';
      assert.ok(current, `a DynamoDB call (${op}) outside any function`);
      recorded.push({ fn: current, op, input: JSON.parse(body.toString('utf8')) as Record<string, unknown> });
      const upstream = request(
        { host: target.hostname, port: target.port, method: req.method, path: req.url, headers: req.headers },
        (up) => {
          res.writeHead(up.statusCode ?? 500, up.headers);
          up.pipe(res);
        },
      );
      upstream.on('error', (err) => res.destroy(err));
      upstream.end(body);
    });
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
}

const event = <T>(name: string): T => JSON.parse(readFileSync(new URL(`../events/${name}.json`, import.meta.url), 'utf8')) as T;
const withBody = (name: string, body: unknown, headers: Record<string, string> = {}): APIGatewayProxyEvent => {
  const e = event<APIGatewayProxyEvent>(name);
  return { ...e, headers: { ...e.headers, ...headers }, body: JSON.stringify(body) };
};

async function as<T>(fn: ApiFunctionName, run: () => Promise<T>): Promise<T> {
  current = fn;
  try {
    return await run();
  } finally {
    current = undefined;
  }
}

const handlers = {} as { login: ProxyFn; refresh: ProxyFn; logout: ProxyFn; authorizer: AuthorizerFn };

beforeAll(async () => {
  table = await startTestTable('tokengate-table-access');
  proxy = await startProxy(new URL(table.endpoint));
  const keyFile = ensureKeyFile(join(keyDir, 'key.pem'));
  // Users are stored with a cheaper scrypt cost than the functions use, so that login rehashes (passwordHash).
  await new UserAdmin(new DynamoUserStore(table), new PasswordHasher({ ln: 14, r: 8, p: 1 }), new ManualClock(Date.now())).add(
    'alice', 'alice-password-1', ['orders:read', 'orders:write'],
  );
  Object.assign(process.env, {
    TABLE_NAME: table.tableName,
    DYNAMODB_ENDPOINT: `http://127.0.0.1:${(proxy.address() as AddressInfo).port}`,
    AWS_REGION: 'local',
    TOKEN_ISSUER: 'https://issuer.test',
    TOKEN_AUDIENCE: 'tokengate-api',
    JWKS_JSON: JSON.stringify(await LocalKeySigner.fromFile(keyFile).publicJwks()),
    SIGNER: 'local',
    SIGNING_KEY_FILE: keyFile,
    PASSWORD_SCRYPT_LN: '15',
    LOGIN_MAX_FAILURES: '2',
    REVOCATION_CACHE_TTL_SECONDS: '0',
    POWERTOOLS_METRICS_DISABLED: 'true',
    POWERTOOLS_LOG_LEVEL: 'SILENT',
    // Unbundled, the authorizer reads its route table at run time (a bundle has it compiled in).
    TOKENGATE_ROUTES: JSON.stringify(tokengate.authorizerRoutes),
  });
  for (const name of ['login', 'refresh', 'logout', 'authorizer'] as const) {
    const mod = (await as(name, () => import(`../../lambdas/${name}/handler.js`))) as { handler: never };
    handlers[name] = mod.handler;
  }

  const login = (username: string, password: string) => as('login', () => handlers.login(withBody('login', { username, password })));
  // A failure, then a success: counted, then cleared; the success rehashes the weaker stored hash.
  assert.equal((await login('alice', 'wrong-password')).statusCode, 401);
  const first = await login('alice', 'alice-password-1');
  assert.equal(first.statusCode, 200, first.body);
  // Enough failures for someone else to be locked out.
  for (let i = 0; i < 3; i++) await login('mallory', 'guess');
  const tokens = JSON.parse(first.body) as { access_token: string; refresh_token: string };

  const authorizerEvent = event<APIGatewayTokenAuthorizerEvent>('authorizer-token');
  const policy = await as('authorizer', () => handlers.authorizer({ ...authorizerEvent, authorizationToken: `Bearer ${tokens.access_token}` }));
  assert.equal(policy.principalId, 'alice');
  assert.equal(policy.policyDocument.Statement[0]?.Effect, 'Allow');

  const refresh = (token: string) => as('refresh', () => handlers.refresh(withBody('refresh', { refresh_token: token })));
  const rotated = await refresh(tokens.refresh_token);
  assert.equal(rotated.statusCode, 200, rotated.body);
  // The spent token again: reuse, the session is revoked.
  assert.equal((await refresh(tokens.refresh_token)).statusCode, 401);

  const second = JSON.parse((await login('alice', 'alice-password-1')).body) as { access_token: string; refresh_token: string };
  const logout = (body: unknown, token: string) =>
    as('logout', () => handlers.logout(withBody('logout', body, { Authorization: `Bearer ${token}` })));
  assert.equal((await logout({ refresh_token: second.refresh_token }, second.access_token)).statusCode, 204);
  const third = JSON.parse((await login('alice', 'alice-password-1')).body) as { access_token: string };
  assert.equal((await logout({ all: true }, third.access_token)).statusCode, 204);
});

afterAll(async () => {
  await new Promise<void>((resolve) => proxy.close(() => resolve()));
  await table.close();
  rmSync(keyDir, { recursive: true, force: true });
});

/** The request context IAM evaluates DynamoDB conditions on. */
function contextOf(r: Recorded): { leadingKeys: string[]; attributes: string[]; returnValues: string } {
  const input = r.input as {
    Key?: AttributeMap;
    Item?: AttributeMap;
    RequestItems?: Record<string, { Keys: AttributeMap[] }>;
    ExpressionAttributeNames?: Record<string, string>;
    ExpressionAttributeValues?: AttributeMap;
    KeyConditionExpression?: string;
    ReturnValues?: string;
  };
  let leadingKeys: (string | undefined)[];
  let attributes: string[] = [];
  if (r.op === 'BatchGetItem') {
    leadingKeys = Object.values(input.RequestItems ?? {}).flatMap((t) => t.Keys.map((k) => k.pk?.S));
  } else if (r.op === 'Query') {
    const m = /^#(\w+) = (:\w+)$/.exec(input.KeyConditionExpression ?? '');
    assert.ok(m && input.ExpressionAttributeNames?.[`#${m[1]}`] === 'pk', `query on the partition key: ${input.KeyConditionExpression}`);
    leadingKeys = [input.ExpressionAttributeValues?.[m[2] as string]?.S];
  } else {
    const keyed = input.Key ?? input.Item ?? {};
    leadingKeys = [keyed.pk?.S];
    attributes = Object.keys(keyed);
  }
  assert.ok(leadingKeys.every((k): k is string => typeof k === 'string'), `${r.fn} ${r.op}: no partition key found`);
  attributes = [...new Set([...attributes, ...Object.values(input.ExpressionAttributeNames ?? {})])];
  return { leadingKeys, attributes, returnValues: input.ReturnValues ?? 'NONE' };
}

const like = (pattern: string, value: string): boolean =>
  new RegExp(`^${pattern.split('*').map((p) => p.replace(/[.+?^${}()|[\]\\]/g, '\\$&')).join('.*')}$`).test(value);

/** Whether `s` allows the request: only the operators and keys this stack uses; anything else fails the test. */
function allows(s: Statement, r: Recorded): boolean {
  if (s.Effect !== 'Allow' || !actionsOf([s]).includes(`dynamodb:${r.op}`)) return false;
  const ctx = contextOf(r);
  for (const [operator, entries] of Object.entries(s.Condition ?? {})) {
    for (const [key, raw] of Object.entries(entries)) {
      const values = (Array.isArray(raw) ? raw : [raw]) as string[];
      const id = `${operator} ${key}`;
      if (id === 'ForAllValues:StringLike dynamodb:LeadingKeys') {
        if (!ctx.leadingKeys.every((k) => values.some((p) => like(p, k)))) return false;
      } else if (id === 'ForAllValues:StringEquals dynamodb:Attributes') {
        if (!ctx.attributes.every((a) => values.includes(a))) return false;
      } else if (id === 'StringEquals dynamodb:ReturnValues') {
        if (!values.includes(ctx.returnValues)) return false;
      } else {
        assert.fail(`the test does not evaluate ${id}: teach it before granting with it`);
      }
    }
  }
  return true;
}

describe('table grants against what the functions send', () => {
  it('recorded every function at work', () => {
    const fns = new Set(recorded.map((r) => r.fn));
    assert.deepEqual([...fns].sort(), ['authorizer', 'login', 'logout', 'refresh']);
  });

  it('allow every request each function sends (action, key prefix, attributes, return values)', () => {
    const refused = recorded.filter((r) => !tableStatements(r.fn).some((s) => allows(s, r)));
    assert.deepEqual(
      refused.map((r) => ({ fn: r.fn, op: r.op, ...contextOf(r) })),
      [],
      'requests the stack would refuse with AccessDenied',
    );
  });

  it('grant nothing the functions do not use: each (action, key prefix) is used by some request', () => {
    const unused: string[] = [];
    for (const fn of ['authorizer', 'login', 'refresh', 'logout'] as const) {
      for (const s of tableStatements(fn)) {
        const prefixes = (s.Condition?.['ForAllValues:StringLike']?.['dynamodb:LeadingKeys'] ?? []) as string[];
        assert.ok(prefixes.length > 0, `${fn}: a table statement without leading keys`);
        for (const action of actionsOf([s])) {
          for (const prefix of prefixes) {
            const used = recorded.some(
              (r) => r.fn === fn && `dynamodb:${r.op}` === action && contextOf(r).leadingKeys.some((k) => like(prefix, k)) && allows(s, r),
            );
            if (!used) unused.push(`${fn} ${action} ${prefix}`);
          }
        }
      }
    }
    assert.deepEqual(unused, []);
  });

  it('let user-item updates name no attribute beyond the granted ones (login: passwordHash; logout: sessionsValidAfter)', () => {
    const userUpdates = recorded.filter((r) => r.op === 'UpdateItem' && contextOf(r).leadingKeys.every((k) => k.startsWith('USER#')));
    const byFn = new Map<string, Set<string>>();
    for (const r of userUpdates) byFn.set(r.fn, new Set([...(byFn.get(r.fn) ?? []), ...contextOf(r).attributes]));
    assert.deepEqual(Object.fromEntries([...byFn].map(([fn, a]) => [fn, [...a].sort()])), {
      login: ['passwordHash', 'pk', 'sk'],
      logout: ['pk', 'sessionsValidAfter', 'sk'],
    });
  });
});
