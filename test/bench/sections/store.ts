/**
 * Section 3: DynamoDB round trips, counted where they arrive (a counting endpoint in front of the embedded
 * store) and by RevocationCheck.lookups. One container (one authorizer instance), one revocation window:
 * - mixed: 1,000 authorized requests from 100 sessions, 10 distinct tokens each, in a shuffled order;
 * - repeated: 1,000 requests with one token;
 * - the anchor (aws-jwt-verify + GetItem per request) on the mixed workload.
 */
import type { APIGatewayAuthorizerResult, APIGatewayTokenAuthorizerEvent } from 'aws-lambda';
import { routes } from '../../../lib/routes.js';
import { AccessTokenVerifier } from '../../../lambdas/core/access-token.js';
import { systemClock } from '../../../lambdas/core/clock.js';
import { PolicyBuilder } from '../../../lambdas/core/policy.js';
import { RevocationCheck } from '../../../lambdas/core/revocation.js';
import { DynamoDBClient, GetItemCommand } from '@aws-sdk/client-dynamodb';
import { createDynamoClient } from '../../../lambdas/adapters/dynamo/client.js';
import { DynamoSessionStatusSource } from '../../../lambdas/adapters/dynamo/session-status.js';
import { createAuthorizer } from '../../../lambdas/authorizer/authorizer.js';
import { median, rng, shuffle } from '../lib/stats.js';
import { AUDIENCE, ISSUER, METHOD_ARN, TABLE, type World } from '../lib/world.js';

type Handler = (e: APIGatewayTokenAuthorizerEvent) => Promise<APIGatewayAuthorizerResult>;

export interface StoreResults {
  requests: number;
  sessions: number;
  mixed: { storeRequests: number; lookups: number; perSession: number; allowed: number };
  repeated: { storeRequests: number; lookups: number };
  anchor: { storeRequests: number; allowed: number };
  /**
   * One strongly consistent GetItem against the embedded store, p50 ms: a bare DynamoDBClient (`sdk`) vs the
   * stores' caller over it, deadline and all (`light`: the field keeps its old name until the benchmark re-base).
   */
  getItemMs: { sdk: number; light: number; samples: number };
}

const total = (m: Map<string, number>): number => [...m.values()].reduce((a, b) => a + b, 0);

export async function benchStore(world: World): Promise<StoreResults> {
  const SESSIONS = 100;
  const PER_SESSION = 10;
  const sessions = await world.addSessions(SESSIONS, 's');
  const tokens: string[] = [];
  for (const s of sessions) for (let i = 0; i < PER_SESSION; i++) tokens.push(await world.mint(s));
  shuffle(tokens, rng(42));
  const events = tokens.map((t): APIGatewayTokenAuthorizerEvent => ({ type: 'TOKEN', authorizationToken: `Bearer ${t}`, methodArn: METHOD_ARN }));

  // A fresh container each: the authorizer as lambdas/authorizer/handler.ts composes it, with its defaults.
  const container = () => {
    const client = createDynamoClient({ region: 'us-east-1', endpoint: world.countingEndpoint });
    const revocation = new RevocationCheck(new DynamoSessionStatusSource({ client: client, tableName: TABLE }), systemClock, { ttlMs: 30_000, maxEntries: 10_000 });
    const handler = createAuthorizer({
      verifier: new AccessTokenVerifier({ issuer: ISSUER, audience: AUDIENCE, jwks: world.jwks, leewaySeconds: 5, clock: systemClock }),
      revocation,
      policy: new PolicyBuilder(routes),
      clock: systemClock,
    });
    return { client, revocation, handler };
  };
  const run = async (handler: Handler, list: APIGatewayTokenAuthorizerEvent[]) => {
    world.storeCalls.clear();
    let allowed = 0;
    for (const e of list) {
      const r = await handler(e);
      if (r.policyDocument.Statement[0]?.Effect === 'Allow') allowed++;
    }
    return { storeRequests: total(world.storeCalls), allowed };
  };

  const a = container();
  const mixed = await run(a.handler, events);
  a.client.destroy();

  const b = container();
  const repeated = await run(b.handler, Array.from({ length: events.length }, () => events[0]!));
  b.client.destroy();

  // The anchor, in this process, pointed at the counting endpoint (fresh module instance: it reads env at init).
  const saved = { ...process.env };
  Object.assign(process.env, {
    TOKEN_ISSUER: ISSUER,
    TOKEN_AUDIENCE: AUDIENCE,
    JWKS_JSON: JSON.stringify(world.jwks),
    TABLE_NAME: TABLE,
    DYNAMODB_ENDPOINT: world.countingEndpoint,
    AWS_REGION: 'us-east-1',
    AWS_ACCESS_KEY_ID: 'bench',
    AWS_SECRET_ACCESS_KEY: 'bench',
  });
  let anchorRun: { storeRequests: number; allowed: number };
  try {
    const anchor = ((await import(new URL('../anchor/handler.ts?bench=store', import.meta.url).href)) as { handler: Handler }).handler;
    anchorRun = await run(anchor, events); // the SDK reads its region lazily: keep the environment until done
  } finally {
    for (const k of Object.keys(process.env)) if (!(k in saved)) delete process.env[k];
    Object.assign(process.env, saved);
  }

  // What one store call costs in this process, bare SDK client vs the stores' caller (alternating, same item, same store).
  const light = createDynamoClient({ region: 'us-east-1', endpoint: world.endpoint });
  const input = { TableName: TABLE, Key: { pk: { S: `SESSION#${sessions[0]!.sid}` }, sk: { S: 'META' } }, ConsistentRead: true };
  const bare = new DynamoDBClient({ region: 'us-east-1', endpoint: world.endpoint, credentials: { accessKeyId: 'bench', secretAccessKey: 'bench' } });
  const sdk = { call: (_op: 'GetItem', i: typeof input) => bare.send(new GetItemCommand(i)), destroy: () => bare.destroy() };
  const sdkMs: number[] = [];
  const lightMs: number[] = [];
  const samples = 200;
  for (let i = -20; i < samples; i++) {
    let t0 = performance.now();
    await sdk.call('GetItem', input);
    const a = performance.now() - t0;
    t0 = performance.now();
    await light.call('GetItem', input);
    const b = performance.now() - t0;
    if (i >= 0) {
      sdkMs.push(a);
      lightMs.push(b);
    }
  }
  light.destroy();
  sdk.destroy();

  return {
    getItemMs: { sdk: median(sdkMs), light: median(lightMs), samples },
    requests: events.length,
    sessions: SESSIONS,
    mixed: { storeRequests: mixed.storeRequests, lookups: a.revocation.lookups, perSession: mixed.storeRequests / SESSIONS, allowed: mixed.allowed },
    repeated: { storeRequests: repeated.storeRequests, lookups: b.revocation.lookups },
    anchor: anchorRun,
  };
}
