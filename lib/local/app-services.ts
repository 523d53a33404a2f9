/**
 * A team's app in local mode: reads the app declaration (the same file the CDK app reads), creates each
 * service's declared tables in the embedded store, gives the services their environment, loads their handler
 * modules and runs their local seeds. lib/local/stack.ts puts them behind the local gateway.
 *
 * The services' environment (what Lambda would give each function):
 * - one variable per declared table, carrying the local table's name `<service>.<ENV_NAME>`;
 * - `API_URL` (the local gateway, no trailing slash), `JWKS_URL`, `TOKEN_ISSUER`, `TOKEN_AUDIENCE`;
 * - for the SDK: `AWS_REGION=local`, local credentials, `AWS_ENDPOINT_URL_DYNAMODB` = the embedded store.
 * Local mode runs every function in one process, so these are set on `process.env` (and restored by
 * `close()`); two local stacks with services must therefore not run at the same time in one process.
 *
 * Each stack imports the handler modules afresh (a query string on the module URL), so a module that reads
 * its environment at load time, as Lambda handlers do, sees this stack's values.
 */
import { ensureTable } from '../../lambdas/adapters/dynamo/table.js';
import { dirname, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { APIGatewayProxyEvent, APIGatewayProxyResult, Context } from 'aws-lambda';
import type { DynamoCaller } from '../../lambdas/adapters/dynamo/client.js';
import { type AppDeclaration, defineApp, RouteDeclarationError, type TableDeclaration } from '../routes.js';

export type ServiceHandler = (event: APIGatewayProxyEvent, context: Context) => Promise<APIGatewayProxyResult>;

/** The sample app, run by `npm start` unless TOKENGATE_APP names another declaration. */
export const DEFAULT_APP_FILE = fileURLToPath(new URL('../../examples/shop/app.ts', import.meta.url));

export interface LoadedApp {
  /** Absolute path of the declaration. */
  file: string;
  app: AppDeclaration;
}

let instance = 0;

/** Imports the declaration (its default export, checked with defineApp). */
export async function loadAppDeclaration(file: string): Promise<LoadedApp> {
  const abs = resolve(file);
  let mod: { default?: unknown };
  try {
    mod = (await import(pathToFileURL(abs).href)) as { default?: unknown };
  } catch (err) {
    throw new RouteDeclarationError(`cannot load the app declaration ${abs}: ${(err as Error)?.message}`, { cause: err });
  }
  const app = mod.default as AppDeclaration | undefined;
  if (!app || typeof app !== 'object' || !('services' in app) || !('routes' in app)) {
    throw new RouteDeclarationError(`${abs} must export default defineApp({ services, routes })`);
  }
  return { file: abs, app: defineApp(app) };
}

/** `<service>.<ENV_NAME>`: the local name of a declared table. */
export const localTableName = (service: string, envName: string): string => `${service}.${envName}`;

/** Creates a declared table unless it exists; 'created' when this call made it (then the service's seed runs). */
export const ensureServiceTable = (client: DynamoCaller, tableName: string, t: TableDeclaration): Promise<'created' | 'existed'> =>
  ensureTable(client, tableName, t);

export interface AppServicesOptions {
  loaded: LoadedApp;
  /** The embedded store (tables are created through it). */
  dynamo: DynamoCaller;
  dynamoEndpoint: string;
  /** The local gateway's URL. */
  apiUrl: string;
  issuer: string;
  audience: string;
  /** Passed on to the services when set (CORS_ALLOW_ORIGINS). */
  corsAllowOrigins?: string;
}

export interface AppServices {
  handlers: Record<string, ServiceHandler>;
  /** Table env name → local table name, per service. */
  tables: Record<string, Record<string, string>>;
  /** The environment every service got (no secrets in it). */
  env: Record<string, string>;
  /** Restores process.env. */
  close(): void;
}

export async function startAppServices(o: AppServicesOptions): Promise<AppServices> {
  const { app, file } = o.loaded;
  const dir = dirname(file);
  const names = Object.keys(app.services);

  const tables: Record<string, Record<string, string>> = {};
  const created = new Set<string>();
  for (const name of names) {
    tables[name] = {};
    for (const [envName, t] of Object.entries(app.services[name]!.tables ?? {})) {
      const tableName = localTableName(name, envName);
      tables[name]![envName] = tableName;
      if ((await ensureServiceTable(o.dynamo, tableName, t)) === 'created') created.add(name);
    }
  }

  const env: Record<string, string> = {
    AWS_REGION: 'local',
    AWS_ACCESS_KEY_ID: 'local',
    AWS_SECRET_ACCESS_KEY: 'local',
    AWS_ENDPOINT_URL_DYNAMODB: o.dynamoEndpoint,
    API_URL: o.apiUrl.replace(/\/$/, ''),
    JWKS_URL: `${o.apiUrl.replace(/\/$/, '')}/.well-known/jwks.json`,
    TOKEN_ISSUER: o.issuer,
    TOKEN_AUDIENCE: o.audience,
    ...(o.corsAllowOrigins ? { CORS_ALLOW_ORIGINS: o.corsAllowOrigins } : {}),
    ...Object.assign({}, ...Object.values(tables)),
  };
  const saved = new Map<string, string | undefined>();
  for (const [k, v] of Object.entries(env)) {
    saved.set(k, process.env[k]);
    process.env[k] = v;
  }
  // The SDK would prefer a session token from the developer's shell over the local credentials.
  saved.set('AWS_SESSION_TOKEN', process.env.AWS_SESSION_TOKEN);
  delete process.env.AWS_SESSION_TOKEN;
  const close = () => {
    for (const [k, v] of saved) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  };

  try {
    const id = `${process.pid}-${++instance}`;
    const load = async (rel: string): Promise<Record<string, unknown>> =>
      (await import(`${pathToFileURL(resolve(dir, rel)).href}?tokengate-local=${id}`)) as Record<string, unknown>;

    for (const name of names) {
      const seed = app.services[name]!.localSeed;
      if (seed === undefined || !created.has(name)) continue;
      const fn = (await load(seed)).default;
      if (typeof fn !== 'function') throw new RouteDeclarationError(`service "${name}": localSeed ${seed} has no default export function`);
      await (fn as (env: Readonly<Record<string, string>>) => Promise<void>)({ ...env });
    }

    const handlers: Record<string, ServiceHandler> = {};
    for (const name of names) {
      const s = app.services[name]!;
      let mod: Record<string, unknown>;
      try {
        mod = await load(s.entry);
      } catch (err) {
        throw new RouteDeclarationError(`service "${name}": cannot load ${s.entry}: ${(err as Error)?.message}`, { cause: err });
      }
      const exportName = s.exportName ?? 'handler';
      const handler = mod[exportName];
      if (typeof handler !== 'function') throw new RouteDeclarationError(`service "${name}": ${s.entry} does not export a function "${exportName}"`);
      handlers[name] = handler as ServiceHandler;
    }
    return { handlers, tables, env, close };
  } catch (err) {
    close();
    throw err;
  }
}
