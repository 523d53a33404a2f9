/**
 * Shared harness for the end-to-end session tests: one local stack per test file (in-memory store, free port,
 * fresh data dir), one ManualClock anchored at the real time once and then only moved forward, and small
 * fetch helpers. Nothing sleeps; everything started here is stopped by `close()`.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { ManualClock } from '../../lambdas/core/clock.js';
import { UserAdmin } from '../../lambdas/core/users.js';
import { createDynamoClient, type DynamoTarget } from '../../lambdas/adapters/dynamo/client.js';
import { DynamoSessionStore } from '../../lambdas/adapters/dynamo/session-store.js';
import { DynamoUserStore } from '../../lambdas/adapters/dynamo/user-store.js';
import { hasherFromEnv } from '../../lambdas/wiring.js';
import { LOCAL_TABLE, startLocalStack, type LocalStack } from '../../lib/local/stack.js';

export interface TestStack {
  stack: LocalStack;
  url: string;
  clock: ManualClock;
  /** Direct access to the stack's store (same table the handlers use). */
  table: DynamoTarget;
  sessions: DynamoSessionStore;
  users: UserAdmin;
  close(): Promise<void>;
}

/**
 * Starts a stack with test settings: scrypt ln=14, in-memory store, port 0. `env` overrides or adds settings
 * (e.g. AUTHORIZER_CACHE_TTL_SECONDS). The clock is anchored at the real time now: aws-jwt-verify checks
 * `exp` against the system clock as well as against ours.
 */
export async function startTestStack(env: Record<string, string> = {}): Promise<TestStack> {
  const dataDir = mkdtempSync(join(tmpdir(), 'tokengate-test-'));
  const clock = new ManualClock(Date.now());
  let stack: LocalStack;
  try {
    stack = await startLocalStack({
      inMemory: true,
      port: 0,
      clock,
      env: { PASSWORD_SCRYPT_LN: '14', LOCAL_DATA_DIR: dataDir, ...env },
    });
  } catch (err) {
    rmSync(dataDir, { recursive: true, force: true });
    throw err;
  }
  const table: DynamoTarget = {
    client: createDynamoClient({ region: 'local', endpoint: stack.dynamoEndpoint }),
    tableName: LOCAL_TABLE,
  };
  return {
    stack,
    url: stack.url,
    clock,
    table,
    sessions: new DynamoSessionStore(table),
    users: new UserAdmin(new DynamoUserStore(table), hasherFromEnv(stack.env), clock),
    close: async () => {
      table.client.destroy();
      await stack.close();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** A fresh user (throttling and "log out everywhere" are per user, so tests that touch them need their own). */
export async function newUser(
  h: TestStack,
  permissions: readonly string[] = ['orders:read'],
  prefix = 'user',
): Promise<{ username: string; password: string }> {
  const username = `${prefix}-${randomBytes(5).toString('hex')}`;
  const password = `pw-${randomBytes(9).toString('base64url')}`;
  await h.users.add(username, password, permissions);
  return { username, password };
}

export interface Reply {
  status: number;
  headers: Headers;
  text: string;
  /** Parsed JSON body, or undefined when the body is empty or not JSON. */
  json: any;
}

async function reply(res: Response): Promise<Reply> {
  const text = await res.text();
  let json: unknown;
  try {
    json = text === '' ? undefined : JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: res.status, headers: res.headers, text, json };
}

/** POST a JSON body (or nothing) to `path`. */
export async function post(
  h: Pick<TestStack, 'url'>,
  path: string,
  body?: unknown,
  headers: Record<string, string> = {},
): Promise<Reply> {
  const init: RequestInit = { method: 'POST', headers: { ...headers } };
  if (body !== undefined) {
    (init.headers as Record<string, string>)['content-type'] = 'application/json';
    init.body = typeof body === 'string' ? body : JSON.stringify(body);
  }
  return reply(await fetch(h.url + path, init));
}

export async function get(h: Pick<TestStack, 'url'>, path: string, headers: Record<string, string> = {}): Promise<Reply> {
  return reply(await fetch(h.url + path, { headers }));
}

export const bearer = (token: string): Record<string, string> => ({ authorization: `Bearer ${token}` });

/** GET /orders with the access token: the status says whether the gateway let the token through. */
export async function ordersStatus(h: Pick<TestStack, 'url'>, accessToken: string): Promise<number> {
  return (await get(h, '/orders', bearer(accessToken))).status;
}

export interface Tokens {
  access_token: string;
  refresh_token: string;
  token_type: string;
  expires_in: number;
}

/** Logs in and asserts a 200; returns the token response. */
export async function login(h: Pick<TestStack, 'url'>, username: string, password: string): Promise<Tokens> {
  const r = await post(h, '/auth/login', { username, password });
  if (r.status !== 200) throw new Error(`login of ${username} answered ${r.status}: ${r.text}`);
  return r.json as Tokens;
}

export const refresh = (h: Pick<TestStack, 'url'>, refreshToken: string): Promise<Reply> =>
  post(h, '/auth/refresh', { refresh_token: refreshToken });

/** The payload of a compact JWS, unverified (tests read `sid` from it). */
export function jwtPayload(token: string): Record<string, any> {
  const part = token.split('.')[1];
  if (part === undefined) throw new Error('not a compact JWS');
  return JSON.parse(Buffer.from(part, 'base64url').toString('utf8')) as Record<string, any>;
}

export const DEMO = {
  alice: { username: 'alice', password: 'alice-password-1' },
  bob: { username: 'bob', password: 'bob-password-1' },
  admin: { username: 'admin', password: 'admin-password-1' },
} as const;
