/**
 * A server for the gateway benchmark, in a process of its own (so the load generator does not share its event
 * loop): `bare` is a node:http server answering a fixed JSON; `gateway` is the local API Gateway (lib/local)
 * with the real authorizer (verifier, revocation check over the embedded store, policy) in front of a function
 * answering the same JSON. It tells its parent (IPC) the port and a valid token, samples its resident memory,
 * and exits when the parent goes away.
 * Usage (by sections/gateway.ts): node --import tsx gateway-server.ts bare|gateway <authorizerCacheTtlSeconds>
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { APIGatewayProxyResult } from 'aws-lambda';
import { routes } from '../helpers/demo-routes.js';
import { createLocalGateway } from '../../lib/local/gateway.js';
import { startEmbeddedDynamo } from '../../lib/local/dynamo-server.js';
import { AccessTokenIssuer, AccessTokenVerifier } from '../../lambdas/core/access-token.js';
import { systemClock } from '../../lambdas/core/clock.js';
import { PolicyBuilder } from '../../lambdas/core/policy.js';
import { RevocationCheck } from '../../lambdas/core/revocation.js';
import { createDynamoClient } from '../../lambdas/adapters/dynamo/client.js';
import { DynamoSessionStore } from '../../lambdas/adapters/dynamo/session-store.js';
import { DynamoUserStore } from '../../lambdas/adapters/dynamo/user-store.js';
import { ensureTable } from '../../lambdas/adapters/dynamo/table.js';
import { generateP256Pem, LocalKeySigner } from '../../lambdas/adapters/local-signer.js';
import { DynamoSessionStatusSource } from '../../lambdas/adapters/dynamo/session-status.js';
import { createAuthorizer } from '../../lambdas/authorizer/authorizer.js';

export const BODY = JSON.stringify({ sub: 'bench', permissions: ['orders:read', 'orders:write'], orders: [] });

const send = (msg: unknown) => process.send?.(msg);
process.on('disconnect', () => process.exit(0));

let peakRss = process.memoryUsage.rss();
setInterval(() => {
  peakRss = Math.max(peakRss, process.memoryUsage.rss());
}, 50).unref();
// 'reset' starts a new peak; both it and 'stats' are answered with the current figures.
process.on('message', (msg: unknown) => {
  if (msg === 'reset') peakRss = process.memoryUsage.rss();
  send({ kind: 'stats', peakRssBytes: Math.max(peakRss, process.memoryUsage.rss()), stats: gatewayStats?.() });
});
let gatewayStats: (() => unknown) | undefined;

const [mode, ttlArg] = process.argv.slice(2);
if (mode === 'bare') {
  const length = String(Buffer.byteLength(BODY));
  const server = createServer((_req, res) => {
    res.writeHead(200, { 'Content-Type': 'application/json', 'Content-Length': length });
    res.end(BODY);
  });
  server.listen(0, '127.0.0.1', () => send({ kind: 'ready', port: (server.address() as AddressInfo).port }));
} else if (mode === 'gateway') {
  const store = await startEmbeddedDynamo();
  const table = { client: createDynamoClient({ region: 'local', endpoint: store.endpoint }), tableName: 'bench' };
  await ensureTable(table.client, table.tableName);
  const now = Date.now();
  await new DynamoUserStore(table).create({ username: 'bench', passwordHash: '$scrypt$unused', permissions: ['orders:read', 'orders:write'], status: 'active', createdAt: 0, sessionsValidAfter: 0 });
  await new DynamoSessionStore(table).create(
    { sid: 'bench-session', username: 'bench', createdAt: now, expiresAt: now + 3600_000, generation: 0, refreshHash: 'h' },
    { hash: 'h', sid: 'bench-session', generation: 0, expiresAt: now + 3600_000 },
  );
  const signer = LocalKeySigner.fromPem(generateP256Pem());
  const jwks = await signer.publicJwks();
  const cfg = { issuer: 'http://127.0.0.1', audience: 'tokengate-api' };
  const { token } = await new AccessTokenIssuer(signer, { ...cfg, accessTokenTtlSeconds: 3600 }, systemClock).issue({
    sub: 'bench',
    sid: 'bench-session',
    permissions: ['orders:read', 'orders:write'],
  });
  // The authorizer as lambdas/authorizer/handler.ts composes it (revocation cache: the default 30 s).
  const revocation = new RevocationCheck(new DynamoSessionStatusSource({ client: createDynamoClient({ region: 'local', endpoint: store.endpoint }), tableName: table.tableName }), systemClock, { ttlMs: 30_000, maxEntries: 10_000 });
  const authorizer = createAuthorizer({
    verifier: new AccessTokenVerifier({ ...cfg, jwks, leewaySeconds: 5, clock: systemClock }),
    revocation,
    policy: new PolicyBuilder(routes),
  });
  const fixed = async (): Promise<APIGatewayProxyResult> => ({ statusCode: 200, headers: { 'Content-Type': 'application/json' }, body: BODY });
  const gateway = createLocalGateway({
    routes,
    handlers: { login: fixed, refresh: fixed, logout: fixed, jwks: fixed, orders: fixed },
    authorizer,
    authorizerCacheTtlSeconds: Number(ttlArg ?? '300'),
  });
  const { port } = await gateway.listen(0, '127.0.0.1');
  gatewayStats = () => ({ ...gateway.stats, revocationLookups: revocation.lookups });
  send({ kind: 'ready', port, token });
} else {
  process.stderr.write(`unknown mode ${mode}\n`);
  process.exit(2);
}
