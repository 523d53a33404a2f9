// Benchmark variant (section 2, only with BENCH_ALT_DIR, see docs/BENCHMARKS.md): the authorizer as handler.ts
// composes it, the session lookup signed by the `aws4` package (instead of the AWS SDK) over node:http(s).
// Plain JS: the package is not a dependency of the project, so this file is not type-checked.
import http from 'node:http';
import https from 'node:https';
import aws4 from 'aws4';
import { routes } from '../../../lib/routes.ts';
import { AccessTokenVerifier } from '../../../lambdas/core/access-token.ts';
import { systemClock } from '../../../lambdas/core/clock.ts';
import { jwksSetting, revocationConfig, storeConfig, tokenConfig } from '../../../lambdas/core/config.ts';
import { PolicyBuilder } from '../../../lambdas/core/policy.ts';
import { RevocationCheck } from '../../../lambdas/core/revocation.ts';
import { DynamoSessionStatusSource } from '../../../lambdas/adapters/dynamo/session-status.ts';
import { createAuthorizer } from '../../../lambdas/authorizer/authorizer.ts';

const env = process.env;
const tokens = tokenConfig(env);
const rc = revocationConfig(env);
const store = storeConfig(env);
const url = new URL(store.endpoint ?? `https://dynamodb.${store.region}.amazonaws.com`);
const secure = url.protocol === 'https:';
const agent = secure ? new https.Agent({ keepAlive: true }) : new http.Agent({ keepAlive: true });
const credentials = { accessKeyId: env.AWS_ACCESS_KEY_ID, secretAccessKey: env.AWS_SECRET_ACCESS_KEY, sessionToken: env.AWS_SESSION_TOKEN };

const client = {
  call(op, input) {
    const body = JSON.stringify(input);
    const opts = aws4.sign(
      {
        host: url.host,
        hostname: url.hostname,
        port: url.port || (secure ? 443 : 80),
        path: '/',
        method: 'POST',
        service: 'dynamodb',
        region: store.region,
        body,
        agent,
        headers: { 'Content-Type': 'application/x-amz-json-1.0', 'X-Amz-Target': `DynamoDB_20120810.${op}` },
      },
      credentials,
    );
    return new Promise((resolve, reject) => {
      const req = (secure ? https : http).request(opts, (res) => {
        const chunks = [];
        res.on('data', (c) => chunks.push(c));
        res.on('end', () => {
          const parsed = JSON.parse(Buffer.concat(chunks).toString('utf8'));
          if (res.statusCode === 200) resolve(parsed);
          else reject(Object.assign(new Error(parsed.message ?? 'error'), { name: String(parsed.__type ?? 'Error').split('#').pop() }));
        });
      });
      req.on('error', reject);
      req.end(body);
    });
  },
};

const counts = new Map();
export const handler = createAuthorizer({
  verifier: new AccessTokenVerifier({ issuer: tokens.issuer, audience: tokens.audience, jwks: jwksSetting(env), leewaySeconds: tokens.clockLeewaySeconds, clock: systemClock }),
  revocation: new RevocationCheck(new DynamoSessionStatusSource({ client, tableName: store.tableName }), systemClock, { ttlMs: rc.cacheTtlSeconds * 1000, maxEntries: rc.cacheMaxEntries }),
  policy: new PolicyBuilder(routes),
  clock: systemClock,
  count: (name) => counts.set(name, (counts.get(name) ?? 0) + 1),
});
