/**
 * The whole product on one machine: the embedded store, the signing key, the same handler code as the
 * Lambdas, behind the local API Gateway. `npm start` (bin/local.ts) and the end-to-end tests use this.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { APIGatewayProxyEvent, APIGatewayProxyResult, APIGatewayTokenAuthorizerEvent, APIGatewayAuthorizerResult, Context } from 'aws-lambda';
import { routes, type FunctionName } from '../routes.js';
import { type Clock, systemClock } from '../../lambdas/core/clock.js';
import { type Env, intSetting, jwksSetting, optionalString, refreshCookieConfig, storeConfig } from '../../lambdas/core/config.js';
import { UserAdmin } from '../../lambdas/core/users.js';
import { AlreadyExistsError } from '../../lambdas/core/errors.js';
import { ensureKeyFile, LocalKeySigner } from '../../lambdas/adapters/local-signer.js';
import { DynamoOrdersStore } from '../../lambdas/adapters/dynamo/orders-store.js';
import { DynamoUserStore } from '../../lambdas/adapters/dynamo/user-store.js';
import { ensureTable } from '../../lambdas/adapters/dynamo/table.js';
import type { DynamoTarget } from '../../lambdas/adapters/dynamo/client.js';
import { composeAuthorizer } from '../../lambdas/authorizer/compose.js';
import { DynamoSessionStatusSource } from '../../lambdas/adapters/dynamo/session-status.js';
import { createJwksHandler } from '../../lambdas/jwks/app.js';
import { createLoginHandler } from '../../lambdas/login/app.js';
import { createLogoutHandler } from '../../lambdas/logout/app.js';
import { createOrdersHandler } from '../../lambdas/orders/app.js';
import { createRefreshHandler } from '../../lambdas/refresh/app.js';
import { createObservability, instrument } from '../../lambdas/observability.js';
import { authServiceFromEnv, hasherFromEnv, tableFromEnv, verifierFromEnv } from '../../lambdas/wiring.js';
import { createLocalGateway } from './gateway.js';
import { startEmbeddedDynamo } from './dynamo-server.js';
import { prepareDataDir } from './data-dir.js';

export const LOCAL_TABLE = 'tokengate-local';
export const LOCAL_AUDIENCE = 'tokengate-api';

/** Demo users of a fresh data dir (local only; the CDK stack never creates users). */
export const DEMO_USERS = [
  { username: 'alice', password: 'alice-password-1', permissions: ['orders:read', 'orders:write'] },
  { username: 'bob', password: 'bob-password-1', permissions: ['orders:read'] },
  { username: 'admin', password: 'admin-password-1', permissions: ['orders:*'] },
] as const;

/** Creates the demo users (idempotent). Only for a fresh local data dir. */
export async function seedDemoUsers(table: DynamoTarget, env: Env, clock: Clock = systemClock): Promise<void> {
  const admin = new UserAdmin(new DynamoUserStore(table), hasherFromEnv(env), clock);
  await Promise.all(
    DEMO_USERS.map((u) =>
      admin.add(u.username, u.password, u.permissions).catch((err: unknown) => {
        if (!(err instanceof AlreadyExistsError)) throw err;
      }),
    ),
  );
}

export interface LocalStackOptions {
  /** Environment as documented in API.md (PORT, LOCAL_DATA_DIR, SIGNING_KEY_FILE, TTLs, …). */
  env?: Env;
  /** Port to listen on; 0 picks a free one. Default: env PORT or 3000. */
  port?: number;
  /** Keep the store in memory instead of LOCAL_DATA_DIR (tests). */
  inMemory?: boolean;
  /** A store that is already running (the watch loop keeps one across reloads): used instead of starting one. */
  dynamoEndpoint?: string;
  /** One clock for tokens, sessions, throttling, revocation cache and the gateway's authorizer cache. */
  clock?: Clock;
  seedDemoUsers?: boolean;
  log?: (line: string) => void;
  /** Errors the client only sees as 500/502 (authorizer failures, functions that throw). */
  onFunctionError?: (error: unknown, functionName: string) => void;
}

export interface LocalStack {
  url: string;
  port: number;
  dynamoEndpoint: string;
  dataDir: string;
  /** Environment the handlers were built from (no secrets in it: the key is a file path). */
  env: Record<string, string>;
  /** Store round trips made by the authorizer's revocation check (for tests and benchmarks). */
  revocationLookups(): number;
  gatewayStats(): { authorizerInvocations: number; cacheHits: number };
  close(): Promise<void>;
}

/** Where a running `npm start` publishes its store endpoint, so the admin CLI can use it meanwhile. */
export const endpointFile = (dataDir: string): string => join(dataDir, 'dynamodb.endpoint');

export function runningEndpoint(dataDir: string): string | undefined {
  const f = endpointFile(dataDir);
  return existsSync(f) ? readFileSync(f, 'utf8').trim() || undefined : undefined;
}

export async function startLocalStack(opts: LocalStackOptions = {}): Promise<LocalStack> {
  const input = opts.env ?? process.env;
  const clock = opts.clock ?? systemClock;
  const port = opts.port ?? intSetting(input, 'PORT', 3000, 0, 65535);
  const dataDir = prepareDataDir(optionalString(input, 'LOCAL_DATA_DIR') ?? '.local');
  const keyFile = optionalString(input, 'SIGNING_KEY_FILE') ?? ensureKeyFile(join(dataDir, 'signing-key.pem'));
  const signer = LocalKeySigner.fromFile(keyFile);

  const dynamo = opts.dynamoEndpoint
    ? { endpoint: opts.dynamoEndpoint, close: async () => {} }
    : await startEmbeddedDynamo(opts.inMemory ? {} : { path: join(dataDir, 'dynamodb') });
  const cacheTtl = intSetting(input, 'AUTHORIZER_CACHE_TTL_SECONDS', 300, 0, 3600);

  // The issuer names where the keys are served; it is fixed once we know the port.
  const env: Record<string, string> = {
    ...(Object.fromEntries(Object.entries(input).filter(([, v]) => v !== undefined)) as Record<string, string>),
    TABLE_NAME: LOCAL_TABLE,
    DYNAMODB_ENDPOINT: dynamo.endpoint,
    AWS_REGION: 'local',
    SIGNER: 'local',
    SIGNING_KEY_FILE: keyFile,
    JWKS_JSON: JSON.stringify(await signer.publicJwks()),
    TOKEN_AUDIENCE: optionalString(input, 'TOKEN_AUDIENCE') ?? LOCAL_AUDIENCE,
  };

  let closeGateway: (() => Promise<void>) | undefined;
  try {
    const table = tableFromEnv(env);
    const created = (await ensureTable(table.client, table.tableName)) === 'created';
    if (created && opts.seedDemoUsers !== false) await seedDemoUsers(table, env, clock);

    // Issuer depends on the bound port, so listen first with a late-bound handler set.
    type Proxy = (e: APIGatewayProxyEvent, c?: Context) => Promise<APIGatewayProxyResult>;
    const handlers = {} as Record<FunctionName, Proxy>;
    const late = (name: FunctionName): Proxy => (e, c) => handlers[name](e, c);
    let authorizer: (e: APIGatewayTokenAuthorizerEvent, c?: Context) => Promise<APIGatewayAuthorizerResult> = async () => {
      throw new Error('not ready');
    };
    const gateway = createLocalGateway({
      routes,
      handlers: { login: late('login'), refresh: late('refresh'), logout: late('logout'), jwks: late('jwks'), orders: late('orders') },
      authorizer: (e, c) => authorizer(e, c),
      authorizerCacheTtlSeconds: cacheTtl,
      clock,
      ...(opts.log ? { log: opts.log } : {}),
      ...(opts.onFunctionError ? { onFunctionError: opts.onFunctionError } : {}),
    });
    const bound = await gateway.listen(port, '127.0.0.1');
    closeGateway = () => gateway.close();
    env.TOKEN_ISSUER = optionalString(input, 'TOKEN_ISSUER') ?? `http://127.0.0.1:${bound.port}`;

    // Metrics stay in memory locally (no EMF lines on the console); logs still print errors. Each function is
    // instrumented as its Lambda entry is (Powertools, the gateway's Lambda context in every log line).
    const obs = (name: string) => createObservability(name, { publishMetrics: false });
    const loginObs = obs('login');
    const refreshObs = obs('refresh');
    const logoutObs = obs('logout');
    const ordersObs = obs('orders');
    const verifier = verifierFromEnv(env, clock);
    const auth = await authServiceFromEnv(env, loginObs, clock);
    // The authorizer exactly as deployed: same composition, same DynamoDB client, our clock.
    const composed = composeAuthorizer(env, { source: new DynamoSessionStatusSource({ ...table, deadlineMs: storeConfig(env).deadlineMs }), clock, obs: obs('authorizer') });
    const revocation = composed.revocation;
    const cookie = refreshCookieConfig(env);
    handlers.login = instrument(loginObs, createLoginHandler({ auth, obs: loginObs, cookie }));
    handlers.refresh = instrument(refreshObs, createRefreshHandler({ auth, obs: refreshObs, cookie }));
    handlers.logout = instrument(logoutObs, createLogoutHandler({ auth, verifier, obs: logoutObs, cookie }));
    handlers.jwks = instrument(obs('jwks'), createJwksHandler(jwksSetting(env)));
    handlers.orders = instrument(ordersObs, createOrdersHandler({ orders: new DynamoOrdersStore(table), clock, obs: ordersObs }));
    authorizer = composed.handler;

    if (!opts.inMemory) writeFileSync(endpointFile(dataDir), dynamo.endpoint + '\n');

    return {
      url: bound.url,
      port: bound.port,
      dynamoEndpoint: dynamo.endpoint,
      dataDir,
      env,
      revocationLookups: () => revocation.lookups,
      gatewayStats: () => ({ ...gateway.stats }),
      close: async () => {
        if (!opts.inMemory) rmSync(endpointFile(dataDir), { force: true });
        await gateway.close();
        table.client.destroy();
        await dynamo.close();
      },
    };
  } catch (err) {
    await closeGateway?.();
    await dynamo.close();
    throw err;
  }
}
