/**
 * A session minted for a user of the LOCAL store, and its access token signed with the local key: what
 * `npm run event -- authorizer --user alice` puts in its event. The session is real (written to the store the
 * way login writes one), so the authorizer's revocation check accepts it; no password is needed because only
 * the holder of the local data dir (its store and its private key) can do this, and only to the local store.
 */
import type { PolicyRoute } from '../../lambdas/core/policy.js';
import { allRoutes } from '../routes.js';
import { loadApp } from './functions.js';
import type { APIGatewayAuthorizerResult } from 'aws-lambda';
import type { DynamoTarget } from '../../lambdas/adapters/dynamo/client.js';
import { DynamoSessionStore } from '../../lambdas/adapters/dynamo/session-store.js';
import { DynamoSessionStatusSource } from '../../lambdas/adapters/dynamo/session-status.js';
import { DynamoUserStore } from '../../lambdas/adapters/dynamo/user-store.js';
import { LocalKeySigner } from '../../lambdas/adapters/local-signer.js';
import { composeAuthorizer } from '../../lambdas/authorizer/compose.js';
import { AccessTokenIssuer, type AccessTokenClaims } from '../../lambdas/core/access-token.js';
import { type Clock, systemClock } from '../../lambdas/core/clock.js';
import { type Env, intSetting, sessionConfig } from '../../lambdas/core/config.js';
import { hashRefreshToken, newRefreshToken, newSessionId } from '../../lambdas/core/refresh-token.js';
import { normalizeUsername } from '../../lambdas/core/users.js';
import type { LocalSettings } from './local-env.js';
import { localJwks } from './local-env.js';

export interface MintedSession {
  accessToken: string;
  claims: AccessTokenClaims;
}

/** A new session of `username` in the local store and its access token. Throws for an unknown or disabled user. */
export async function mintSession(
  table: DynamoTarget,
  settings: LocalSettings,
  username: string,
  env: Env = process.env,
  clock: Clock = systemClock,
): Promise<MintedSession> {
  const name = normalizeUsername(username, false);
  const user = name === undefined ? undefined : await new DynamoUserStore(table).get(name);
  if (!user) throw new Error(`no user "${username}" in the local store (${settings.dataDir}); \`npm run users -- list\` shows them`);
  if (user.status !== 'active') throw new Error(`user "${user.username}" is disabled: its sessions are refused`);
  const now = clock.now();
  const sid = newSessionId();
  const refresh = newRefreshToken();
  const hash = hashRefreshToken(refresh);
  const expiresAt = now + sessionConfig(env).refreshTokenTtlSeconds * 1000;
  // As login does: strictly after the user's cut-off, so a "log out everywhere" of the same millisecond is past.
  const createdAt = Math.max(now, user.sessionsValidAfter + 1);
  await new DynamoSessionStore(table).create(
    { sid, username: user.username, createdAt, expiresAt, generation: 0, refreshHash: hash },
    { hash, sid, generation: 0, expiresAt },
  );
  const issuer = new AccessTokenIssuer(
    LocalKeySigner.fromFile(settings.keyFile),
    { issuer: settings.issuer, audience: settings.audience, accessTokenTtlSeconds: intSetting(env, 'ACCESS_TOKEN_TTL_SECONDS', 900, 1, 86_400) },
    clock,
  );
  const issued = await issuer.issue({ sub: user.username, sid, permissions: user.permissions });
  return { accessToken: issued.token, claims: issued.claims };
}

/**
 * What the authorizer answers for a token and method ARN: the real authorizer composition (lambdas/authorizer),
 * on the local store, with the local key set, issuer and audience. Rejects as the authorizer does.
 */
export async function authorizeLocally(
  table: DynamoTarget,
  settings: LocalSettings,
  authorization: string,
  methodArn: string,
  env: Env = process.env,
  routes?: readonly PolicyRoute[],
): Promise<APIGatewayAuthorizerResult> {
  const authorizerEnv = {
    ...env,
    TOKEN_ISSUER: settings.issuer,
    TOKEN_AUDIENCE: settings.audience,
    JWKS_JSON: JSON.stringify(await localJwks(settings.keyFile)),
  };
  // The route table of the app the events are for (TOKENGATE_APP, default the sample), as the deployed authorizer has it.
  const table_ = routes ?? allRoutes((await loadApp(undefined, env as NodeJS.ProcessEnv)).app);
  const { handler } = composeAuthorizer(authorizerEnv, { routes: table_, source: new DynamoSessionStatusSource(table) });
  return handler({ type: 'TOKEN', authorizationToken: authorization, methodArn });
}
