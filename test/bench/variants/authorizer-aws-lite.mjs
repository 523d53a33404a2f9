// Benchmark variant (section 2, only with BENCH_ALT_DIR, see docs/BENCHMARKS.md): the authorizer as handler.ts
// composes it, the session lookup through @aws-lite/client + @aws-lite/dynamodb (BatchGetItem, same keys and
// projection). Plain JS: the packages are not dependencies of the project, so this file is not type-checked.
import awsLite from '@aws-lite/client';
import dynamodb from '@aws-lite/dynamodb';
import { routes } from '../../../lib/routes.ts';
import { AccessTokenVerifier } from '../../../lambdas/core/access-token.ts';
import { systemClock } from '../../../lambdas/core/clock.ts';
import { jwksSetting, revocationConfig, storeConfig, tokenConfig } from '../../../lambdas/core/config.ts';
import { PolicyBuilder } from '../../../lambdas/core/policy.ts';
import { RevocationCheck } from '../../../lambdas/core/revocation.ts';
import { createAuthorizer } from '../../../lambdas/authorizer/authorizer.ts';

const env = process.env;
const tokens = tokenConfig(env);
const rc = revocationConfig(env);
const store = storeConfig(env);
const aws = await awsLite({
  region: store.region,
  ...(store.endpoint ? { endpoint: store.endpoint } : {}),
  accessKeyId: env.AWS_ACCESS_KEY_ID,
  secretAccessKey: env.AWS_SECRET_ACCESS_KEY,
  sessionToken: env.AWS_SESSION_TOKEN,
  plugins: [dynamodb],
  autoloadPlugins: false,
});

const source = {
  async lookup(sid, username) {
    const sk = { pk: `SESSION#${sid}`, sk: 'META' };
    const uk = { pk: `USER#${username}`, sk: 'PROFILE' };
    const out = await aws.DynamoDB.BatchGetItem({
      RequestItems: {
        [store.tableName]: {
          Keys: [sk, uk],
          ConsistentRead: true,
          ProjectionExpression: '#pk, #username, #createdAt, #expiresAtMs, #revokedAt, #status, #sessionsValidAfter',
          ExpressionAttributeNames: { '#pk': 'pk', '#username': 'username', '#createdAt': 'createdAt', '#expiresAtMs': 'expiresAtMs', '#revokedAt': 'revokedAt', '#status': 'status', '#sessionsValidAfter': 'sessionsValidAfter' },
        },
      },
    });
    const status = {};
    for (const item of out.Responses?.[store.tableName] ?? []) {
      if (item.pk === sk.pk) status.session = { username: item.username ?? '', createdAt: item.createdAt ?? 0, expiresAt: item.expiresAtMs ?? 0, ...(item.revokedAt !== undefined ? { revokedAt: item.revokedAt } : {}) };
      else if (item.pk === uk.pk) status.user = { status: item.status === 'active' ? 'active' : 'disabled', sessionsValidAfter: item.sessionsValidAfter ?? 0 };
    }
    return status;
  },
};

const counts = new Map();
export const handler = createAuthorizer({
  verifier: new AccessTokenVerifier({ issuer: tokens.issuer, audience: tokens.audience, jwks: jwksSetting(env), leewaySeconds: tokens.clockLeewaySeconds, clock: systemClock }),
  revocation: new RevocationCheck(source, systemClock, { ttlMs: rc.cacheTtlSeconds * 1000, maxEntries: rc.cacheMaxEntries }),
  policy: new PolicyBuilder(routes),
  clock: systemClock,
  count: (name) => counts.set(name, (counts.get(name) ?? 0) + 1),
});
