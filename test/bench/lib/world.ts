/**
 * The benchmark's world: an embedded store (dynalite, in memory) with the table, users and sessions, a signing
 * key (also written to a key file for the bundled Lambdas), and realistic access tokens minted by the product's
 * own issuer. Everything it starts is registered for cleanup.
 */
import { createServer, request as httpRequest, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AccessTokenIssuer } from '../../../lambdas/core/access-token.js';
import { systemClock } from '../../../lambdas/core/clock.js';
import { PasswordHasher, OWASP_SCRYPT } from '../../../lambdas/core/passwords.js';
import type { Jwks } from '../../../lambdas/core/ports.js';
import { newSessionId } from '../../../lambdas/core/refresh-token.js';
import { createDynamoClient, type DynamoTarget } from '../../../lambdas/adapters/dynamo/client.js';
import { DynamoSessionStore } from '../../../lambdas/adapters/dynamo/session-store.js';
import { DynamoUserStore } from '../../../lambdas/adapters/dynamo/user-store.js';
import { ensureTable } from '../../../lambdas/adapters/dynamo/table.js';
import { generateP256Pem, LocalKeySigner } from '../../../lambdas/adapters/local-signer.js';
import { startEmbeddedDynamo } from '../../../lib/local/dynamo-server.js';
import { onCleanup, removeDirOnCleanup } from './cleanup.js';

export const ISSUER = 'https://auth.bench.example';
export const AUDIENCE = 'tokengate-api';
export const TABLE = 'tokengate-bench';
export const METHOD_ARN = 'arn:aws:execute-api:us-east-1:123456789012:abcdef1234/prod/GET/orders';
export const LOGIN_USER = { username: 'bench', password: 'bench-password-1', permissions: ['orders:read', 'orders:write'] };

export interface Session {
  sid: string;
  sub: string;
}

export interface World {
  endpoint: string;
  table: DynamoTarget;
  dir: string;
  keyFile: string;
  signer: LocalKeySigner;
  jwks: Jwks;
  /** Store requests seen by the counting endpoint, by operation (`countingEndpoint`). */
  storeCalls: Map<string, number>;
  /** An endpoint in front of the store that counts every request by its X-Amz-Target. */
  countingEndpoint: string;
  /** Creates `n` live sessions (users `u0…`), in the store. */
  addSessions(n: number, prefix?: string): Promise<Session[]>;
  /** A fresh access token (new jti) for a session. */
  mint(s: Session): Promise<string>;
  sessions: DynamoSessionStore;
  users: DynamoUserStore;
}

export async function createWorld(): Promise<World> {
  const dir = mkdtempSync(join(tmpdir(), 'tokengate-bench-'));
  removeDirOnCleanup(dir);
  const store = await startEmbeddedDynamo();
  onCleanup('embedded store', () => store.close());
  const table: DynamoTarget = { client: createDynamoClient({ region: 'local', endpoint: store.endpoint }), tableName: TABLE };
  onCleanup('sdk client', () => table.client.destroy());
  await ensureTable(table.client, TABLE);

  const keyFile = join(dir, 'signing-key.pem');
  writeFileSync(keyFile, generateP256Pem(), { mode: 0o600 });
  const signer = LocalKeySigner.fromFile(keyFile);
  const jwks = await signer.publicJwks();
  const issuer = new AccessTokenIssuer(signer, { issuer: ISSUER, audience: AUDIENCE, accessTokenTtlSeconds: 3600 }, systemClock);

  const users = new DynamoUserStore(table);
  const sessions = new DynamoSessionStore(table);
  const knownUsers = new Set<string>();
  const now = Date.now();
  // The login user has a real OWASP-cost hash; the others never log in.
  await users.create({
    username: LOGIN_USER.username,
    passwordHash: await new PasswordHasher(OWASP_SCRYPT).hash(LOGIN_USER.password),
    permissions: [...LOGIN_USER.permissions],
    status: 'active',
    createdAt: now,
    sessionsValidAfter: 0,
  });

  // Counting proxy: store round trips are counted where they arrive, not estimated.
  const storeCalls = new Map<string, number>();
  const target = new URL(store.endpoint);
  const proxy: Server = createServer((req, res) => {
    const op = String(req.headers['x-amz-target'] ?? '?').replace(/^DynamoDB_\d+\./, '');
    storeCalls.set(op, (storeCalls.get(op) ?? 0) + 1);
    const up = httpRequest(
      { hostname: target.hostname, port: target.port, path: req.url, method: req.method, headers: req.headers },
      (upRes) => {
        res.writeHead(upRes.statusCode ?? 502, upRes.headers);
        upRes.pipe(res);
      },
    );
    up.on('error', () => res.destroy());
    req.pipe(up);
  });
  await new Promise<void>((r) => proxy.listen(0, '127.0.0.1', r));
  onCleanup('counting proxy', () => new Promise<void>((r) => (proxy.closeAllConnections(), proxy.close(() => r()))));
  const countingEndpoint = `http://127.0.0.1:${(proxy.address() as AddressInfo).port}`;

  let seq = 0;
  return {
    endpoint: store.endpoint,
    table,
    dir,
    keyFile,
    signer,
    jwks,
    storeCalls,
    countingEndpoint,
    sessions,
    users,
    async addSessions(n, prefix = 'u') {
      const out: Session[] = [];
      for (let i = 0; i < n; i++) {
        const sub = `${prefix}${seq++}`;
        if (!knownUsers.has(sub)) {
          await users.create({ username: sub, passwordHash: '$scrypt$unused', permissions: ['orders:read'], status: 'active', createdAt: 0, sessionsValidAfter: 0 });
          knownUsers.add(sub);
        }
        const sid = newSessionId();
        const t = Date.now();
        await sessions.create(
          { sid, username: sub, createdAt: t, expiresAt: t + 3600_000, generation: 0, refreshHash: `bench-${sid}` },
          { hash: `bench-${sid}`, sid, generation: 0, expiresAt: t + 3600_000 },
        );
        out.push({ sid, sub });
      }
      return out;
    },
    async mint(s) {
      return (await issuer.issue({ sub: s.sub, sid: s.sid, permissions: ['orders:read', 'orders:write'] })).token;
    },
  };
}
