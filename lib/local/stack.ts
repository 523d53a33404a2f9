/**
 * The whole product on one machine: the embedded store, the signing key, the same handler code as the
 * Lambdas, behind the local API Gateway, and the team's app: the services of an app declaration (the same
 * file the CDK app reads; `TOKENGATE_APP`, default examples/shop/app.ts) with their own tables, routed after
 * tokengate's own routes. `npm start` (bin/local.ts) and the end-to-end tests use this.
 */
import { authorizerRoutes } from '../bundling.js';
import { existsSync, mkdirSync, readFileSync, writeFileSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { APIGatewayProxyEvent, APIGatewayProxyResult, APIGatewayTokenAuthorizerEvent, APIGatewayAuthorizerResult, Context } from 'aws-lambda';
import { AUTH_ROUTES, allRoutes, type Route, type TokengateFunctionName } from '../routes.js';
import { type Clock, systemClock } from '../../lambdas/core/clock.js';
import { type Env, intSetting, jwksSetting, optionalString, refreshCookieConfig, storeConfig } from '../../lambdas/core/config.js';
import { UserAdmin } from '../../lambdas/core/users.js';
import { AlreadyExistsError } from '../../lambdas/core/errors.js';
import { ensureKeyFile, LocalKeySigner } from '../../lambdas/adapters/local-signer.js';
import { DynamoUserStore } from '../../lambdas/adapters/dynamo/user-store.js';
import { ensureTable } from '../../lambdas/adapters/dynamo/table.js';
import type { DynamoTarget } from '../../lambdas/adapters/dynamo/client.js';
import { composeAuthorizer } from '../../lambdas/authorizer/compose.js';
import { DynamoSessionStatusSource } from '../../lambdas/adapters/dynamo/session-status.js';
import { createJwksHandler } from '../../lambdas/jwks/app.js';
import { createLoginHandler } from '../../lambdas/login/app.js';
import { createLogoutHandler } from '../../lambdas/logout/app.js';
import { createRefreshHandler } from '../../lambdas/refresh/app.js';
import { createObservability, instrument } from '../../lambdas/observability.js';
import { authServiceFromEnv, hasherFromEnv, tableFromEnv, verifierFromEnv } from '../../lambdas/wiring.js';
import { DEFAULT_APP_FILE, loadAppDeclaration, startAppServices, type AppServices, type ServiceHandler } from './app-services.js';
import { createLocalGateway } from './gateway.js';
import { startEmbeddedDynamo } from './dynamo-server.js';
import { prepareDataDir } from './data-dir.js';

export const LOCAL_TABLE = 'tokengate-local';
export const LOCAL_AUDIENCE = 'tokengate-api';

/** Demo users of a fresh data dir (local only; the CDK stack never creates users). */
export const DEMO_USERS = [
  { username: 'alice', password: 'alice-password-1', permissions: ['orders:read', 'orders:write', 'inventory:read', 'inventory:reserve'] },
  { username: 'bob', password: 'bob-password-1', permissions: ['orders:read', 'inventory:read'] },
  { username: 'admin', password: 'admin-password-1', permissions: ['orders:*', 'inventory:*'] },
  // Places orders but has no inventory permission: fulfilling an order answers 403 naming inventory:reserve.
  { username: 'carol', password: 'carol-password-1', permissions: ['orders:read', 'orders:write'] },
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
  /**
   * The app declaration whose services to run: a file path (relative to the working directory), or `false`
   * for tokengate's own routes only. @default env TOKENGATE_APP, else examples/shop/app.ts
   */
  app?: string | false;
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
  /** The app that runs: its declaration file (undefined without one), the whole route table, its services. */
  app: {
    file: string | undefined;
    routes: readonly Route[];
    services: readonly string[];
    /** Table env name → local table name, per service. */
    tables: Readonly<Record<string, Readonly<Record<string, string>>>>;
    /** The environment the services got. */
    env: Readonly<Record<string, string>>;
  };
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

  const appFile = opts.app === false ? undefined : (opts.app ?? optionalString(input, 'TOKENGATE_APP') ?? DEFAULT_APP_FILE);
  const loaded = appFile === undefined ? undefined : await loadAppDeclaration(appFile);
  const routes: readonly Route[] = loaded ? allRoutes(loaded.app) : AUTH_ROUTES;
  const serviceNames = loaded ? Object.keys(loaded.app.services) : [];

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
    // No Lambda timeout to fit inside locally, and the embedded store shares Node's thread pool with scrypt: under a
    // burst of logins its calls queue longer than DynamoDB's ever would. A 2 s deadline (the cloud default) would
    // turn that queueing into 503s; 10 s still fails closed on a store that is really gone.
    STORE_DEADLINE_MS: optionalString(input, 'STORE_DEADLINE_MS') ?? '10000',
    // What the deployed authorizer has compiled into its bundle (lib/bundling.ts): its source entry
    // (lambdas/authorizer/handler.ts) reads the same JSON from here when a tool runs it unbundled.
    TOKENGATE_ROUTES: JSON.stringify(authorizerRoutes(routes)),
  };

  let closeGateway: (() => Promise<void>) | undefined;
  let services: AppServices | undefined;
  try {
    const table = tableFromEnv(env);
    const created = (await ensureTable(table.client, table.tableName)) === 'created';
    if (created && opts.seedDemoUsers !== false) await seedDemoUsers(table, env, clock);

    // Issuer depends on the bound port, so listen first with a late-bound handler set.
    type Proxy = (e: APIGatewayProxyEvent, c?: Context) => Promise<APIGatewayProxyResult>;
    const handlers = {} as Record<TokengateFunctionName, Proxy>;
    let serviceHandlers: Record<string, ServiceHandler> = {};
    const late = (name: TokengateFunctionName): Proxy => (e, c) => handlers[name](e, c);
    const lateService = (name: string): ServiceHandler => (e, c) => serviceHandlers[name]!(e, c);
    let authorizer: (e: APIGatewayTokenAuthorizerEvent, c?: Context) => Promise<APIGatewayAuthorizerResult> = async () => {
      throw new Error('not ready');
    };
    const gateway = createLocalGateway({
      routes,
      handlers: {
        ...Object.fromEntries(serviceNames.map((n) => [n, lateService(n)])),
        login: late('login'),
        refresh: late('refresh'),
        logout: late('logout'),
        jwks: late('jwks'),
      },
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
    const verifier = verifierFromEnv(env, clock);
    const auth = await authServiceFromEnv(env, loginObs, clock);
    // The authorizer exactly as deployed: same composition, same DynamoDB client, our clock.
    const composed = composeAuthorizer(env, {
      source: new DynamoSessionStatusSource({ ...table, deadlineMs: storeConfig(env).deadlineMs }),
      clock,
      obs: obs('authorizer'),
      routes,
    });
    const revocation = composed.revocation;
    const cookie = refreshCookieConfig(env);
    handlers.login = instrument(loginObs, createLoginHandler({ auth, obs: loginObs, cookie }));
    handlers.refresh = instrument(refreshObs, createRefreshHandler({ auth, obs: refreshObs, cookie }));
    handlers.logout = instrument(logoutObs, createLogoutHandler({ auth, verifier, obs: logoutObs, cookie }));
    handlers.jwks = instrument(obs('jwks'), createJwksHandler(jwksSetting(env)));
    authorizer = composed.handler;

    // The team's services: their tables, their environment (API_URL = this gateway), their handler modules.
    if (loaded) {
      const cors = optionalString(input, 'CORS_ALLOW_ORIGINS');
      services = await startAppServices({
        loaded,
        dynamo: table.client,
        dynamoEndpoint: dynamo.endpoint,
        apiUrl: bound.url,
        issuer: env.TOKEN_ISSUER,
        audience: env.TOKEN_AUDIENCE!,
        ...(cors ? { corsAllowOrigins: cors } : {}),
      });
      serviceHandlers = services.handlers;
    }

    if (!opts.inMemory) writeFileSync(endpointFile(dataDir), dynamo.endpoint + '\n');

    return {
      url: bound.url,
      port: bound.port,
      dynamoEndpoint: dynamo.endpoint,
      dataDir,
      env,
      app: { file: loaded?.file, routes, services: serviceNames, tables: services?.tables ?? {}, env: services?.env ?? {} },
      revocationLookups: () => revocation.lookups,
      gatewayStats: () => ({ ...gateway.stats }),
      close: async () => {
        if (!opts.inMemory) rmSync(endpointFile(dataDir), { force: true });
        await gateway.close();
        services?.close();
        table.client.destroy();
        await dynamo.close();
      },
    };
  } catch (err) {
    await closeGateway?.();
    services?.close();
    await dynamo.close();
    throw err;
  }
}
