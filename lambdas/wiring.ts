/**
 * Composition root: builds the domain services from the environment, once per cold start. The cloud and
 * local mode differ only here (which Signer, which DynamoDB endpoint); handlers and domain are the same.
 * Invalid configuration throws at init, so a misconfigured function fails its cold start, not a request.
 */
import { AccessTokenIssuer } from './core/access-token.js';
import { type Clock, systemClock } from './core/clock.js';
import {
  type Env,
  intSetting,
  jwksSetting,
  optionalString,
  requireString,
  sessionConfig,
  storeConfig,
  throttleConfig,
  tokenConfig,
} from './core/config.js';
import { ConfigError } from './core/errors.js';
import { PasswordHasher, OWASP_SCRYPT } from './core/passwords.js';
import type { Signer } from './core/ports.js';
import { AuthService } from './core/sessions.js';
import { LoginThrottle } from './core/throttle.js';
import { createDynamoClient, type DynamoTarget } from './adapters/dynamo/client.js';
import { DynamoSessionStore } from './adapters/dynamo/session-store.js';
import { DynamoThrottleStore } from './adapters/dynamo/throttle-store.js';
import { DynamoUserStore } from './adapters/dynamo/user-store.js';
import { LocalKeySigner } from './adapters/local-signer.js';
import { authEventsTo, type Observability } from './observability.js';

export { verifierFromEnv } from './core/access-token.js';

/**
 * The table and its client, once per cold start: the SDK's DynamoDBClient with STORE_DEADLINE_MS per call; the
 * embedded store at DYNAMODB_ENDPOINT, else the SDK's own endpoint and credential settings.
 */
export function tableFromEnv(env: Env): DynamoTarget {
  const cfg = storeConfig(env);
  return { client: createDynamoClient(cfg), tableName: cfg.tableName };
}

/** scrypt cost from PASSWORD_SCRYPT_LN (default OWASP's 17; tests may lower it, never below 14). */
export function hasherFromEnv(env: Env): PasswordHasher {
  return new PasswordHasher({ ...OWASP_SCRYPT, ln: intSetting(env, 'PASSWORD_SCRYPT_LN', OWASP_SCRYPT.ln, 14, 20) });
}

export async function signerFromEnv(env: Env): Promise<Signer> {
  const kind = requireString(env, 'SIGNER');
  const published = optionalString(env, 'JWKS_JSON') ? jwksSetting(env).keys : [];
  if (kind === 'local') {
    // The key itself where no file can be shared (a `sam local invoke` container, lib/local/sam-env.ts), else the file.
    const pem = optionalString(env, 'SIGNING_KEY_PEM');
    return pem ? LocalKeySigner.fromPem(pem, published) : LocalKeySigner.fromFile(requireString(env, 'SIGNING_KEY_FILE'), published);
  }
  if (kind === 'kms') {
    const { signerFromKmsEnv } = await import('./adapters/kms-wiring.js');
    return signerFromKmsEnv(env, published);
  }
  throw new ConfigError(`SIGNER must be "kms" or "local", got "${kind}"`);
}

export async function authServiceFromEnv(env: Env, obs: Observability, clock: Clock = systemClock): Promise<AuthService> {
  const table = tableFromEnv(env);
  const users = new DynamoUserStore(table);
  const signer = await signerFromEnv(env);
  return new AuthService({
    users,
    sessions: new DynamoSessionStore(table),
    hasher: hasherFromEnv(env),
    throttle: new LoginThrottle(new DynamoThrottleStore(table), throttleConfig(env), clock),
    tokens: new AccessTokenIssuer(signer, tokenConfig(env), clock),
    clock,
    config: sessionConfig(env),
    events: authEventsTo(obs),
  });
}
