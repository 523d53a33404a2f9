/**
 * The local environment outside `npm start`, for the developer tools (`npm run invoke`, `npm run event`,
 * `npm run sam-env`, the admin CLI): the same data dir, key, issuer and audience as `npm start` uses, and its
 * store, whether or not `npm start` is running.
 *
 * - LOCAL_DATA_DIR, SIGNING_KEY_FILE, TOKEN_ISSUER, TOKEN_AUDIENCE and PORT mean what they mean for `npm start`.
 *   The issuer is `npm start`'s default, `http://127.0.0.1:<PORT or 3000>`, so a token minted here is accepted
 *   by `npm start` on that port, and the other way round.
 * - The store: a running `npm start` owns the data dir (its store is locked to it), so the tools go through it,
 *   as the admin CLI always has. Otherwise they start the local stack themselves, on a private port and only for
 *   the command's duration: a fresh data dir is then set up by the very code `npm start` runs (tables, key, demo
 *   users), not by a copy of it.
 */
import { join } from 'node:path';
import { createDynamoClient, type DynamoTarget } from '../../lambdas/adapters/dynamo/client.js';
import { ensureKeyFile, LocalKeySigner } from '../../lambdas/adapters/local-signer.js';
import { type Env, intSetting, optionalString } from '../../lambdas/core/config.js';
import type { Jwks } from '../../lambdas/core/ports.js';
import { prepareDataDir } from './data-dir.js';
import { LOCAL_AUDIENCE, LOCAL_TABLE, runningEndpoint, startLocalStack } from './stack.js';

export interface LocalSettings {
  dataDir: string;
  keyFile: string;
  issuer: string;
  audience: string;
  /** The port `npm start` listens on (PORT, default 3000). */
  port: number;
  /** `npm start`'s URL: what services get as API_URL. */
  apiUrl: string;
}

/** Settings as `npm start` derives them; creates the data dir and the key file if they do not exist yet. */
export function localSettings(env: Env = process.env): LocalSettings {
  const dataDir = prepareDataDir(optionalString(env, 'LOCAL_DATA_DIR') ?? '.local');
  const keyFile = optionalString(env, 'SIGNING_KEY_FILE') ?? ensureKeyFile(join(dataDir, 'signing-key.pem'));
  const port = intSetting(env, 'PORT', 3000, 0, 65535);
  const apiUrl = `http://127.0.0.1:${port}`;
  return {
    dataDir,
    keyFile,
    issuer: optionalString(env, 'TOKEN_ISSUER') ?? apiUrl,
    audience: optionalString(env, 'TOKEN_AUDIENCE') ?? LOCAL_AUDIENCE,
    port,
    apiUrl,
  };
}

/** The public key set of the local key: what every verifier gets as JWKS_JSON. */
export const localJwks = (keyFile: string): Promise<Jwks> => LocalKeySigner.fromFile(keyFile).publicJwks();

/** Whether a DynamoDB-compatible store answers at `endpoint`; the reason when it does not. */
export async function probeStore(endpoint: string): Promise<{ ok: true } | { ok: false; reason: string }> {
  const client = createDynamoClient({ region: 'local', endpoint, deadlineMs: 1500, maxAttempts: 1 });
  try {
    await client.call('ListTables', { Limit: 1 });
    return { ok: true };
  } catch (err) {
    return { ok: false, reason: describeError(err) };
  } finally {
    client.destroy();
  }
}

export interface LocalStore {
  endpoint: string;
  table: DynamoTarget;
  /** `running`: the store of a running `npm start`; `started`: this command runs the local stack itself. */
  via: 'running' | 'started';
  close(): Promise<void>;
}

/**
 * The local store of `settings.dataDir`: a running `npm start`'s (its endpoint file, if it answers), else the
 * local stack started for this command (port 0, no access log), which sets up a fresh data dir as `npm start` does.
 */
export async function openLocalStore(env: Env = process.env, settings: LocalSettings = localSettings(env)): Promise<LocalStore> {
  const running = runningEndpoint(settings.dataDir);
  if (running !== undefined && (await probeStore(running)).ok) {
    const client = createDynamoClient({ region: 'local', endpoint: running });
    return { endpoint: running, table: { client, tableName: LOCAL_TABLE }, via: 'running', close: async () => client.destroy() };
  }
  const stack = await startLocalStack({
    env: { ...env, LOCAL_DATA_DIR: settings.dataDir, SIGNING_KEY_FILE: settings.keyFile, TOKEN_ISSUER: settings.issuer, TOKEN_AUDIENCE: settings.audience },
    port: 0,
  });
  const client = createDynamoClient({ region: 'local', endpoint: stack.dynamoEndpoint });
  return {
    endpoint: stack.dynamoEndpoint,
    table: { client, tableName: LOCAL_TABLE },
    via: 'started',
    close: async () => {
      client.destroy();
      await stack.close();
    },
  };
}

/**
 * The environment a function gets locally, as `npm start` gives it (lib/local/stack.ts): table, store, local
 * signer and key, the key set, issuer and audience, the region, and the gateway's URL for services.
 */
export async function localFunctionEnv(settings: LocalSettings, storeEndpoint: string): Promise<Record<string, string>> {
  return {
    TABLE_NAME: LOCAL_TABLE,
    DYNAMODB_ENDPOINT: storeEndpoint,
    AWS_REGION: 'local',
    SIGNER: 'local',
    SIGNING_KEY_FILE: settings.keyFile,
    JWKS_JSON: JSON.stringify(await localJwks(settings.keyFile)),
    TOKEN_ISSUER: settings.issuer,
    TOKEN_AUDIENCE: settings.audience,
    API_URL: settings.apiUrl,
  };
}

/**
 * An error as a person can act on it: its message, then each cause's (class, message, system code, address and
 * port), e.g. `store unavailable: list users (Error) ← connect ECONNREFUSED 127.0.0.1:8000`. Never the request.
 */
export function describeError(err: unknown): string {
  const parts: string[] = [];
  const seen = new Set<unknown>();
  let e: unknown = err;
  while (e !== undefined && e !== null && !seen.has(e) && parts.length < 6) {
    seen.add(e);
    const x = e as NodeJS.ErrnoException & { address?: string; port?: number; errors?: unknown[]; $metadata?: { httpStatusCode?: number } };
    let text = typeof x.message === 'string' && x.message !== '' ? x.message : String(x.name ?? e);
    // System error codes (ECONNREFUSED, ENOTFOUND, EACCES…) say why; our own error codes repeat the message.
    if (typeof x.code === 'string' && /^E[A-Z0-9_]+$/.test(x.code) && !text.includes(x.code)) text += ` [${x.code}]`;
    if (x.address && !text.includes(x.address)) text += ` (${x.address}${x.port ? `:${x.port}` : ''})`;
    if (x.$metadata?.httpStatusCode) text += ` (HTTP ${x.$metadata.httpStatusCode})`;
    if (parts.length === 0 || !parts[parts.length - 1]!.includes(text)) parts.push(text);
    // Node's fetch and happy-eyeballs connect put the real reasons in an AggregateError.
    e = x.cause ?? (Array.isArray(x.errors) ? x.errors[0] : undefined);
  }
  return parts.join(' ← ');
}
