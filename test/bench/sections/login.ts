/**
 * Section 4: what a login costs, split: the password hash (scrypt, OWASP parameters, on the libuv pool), the
 * store (time with at least one DynamoDBClient.send in flight: SDK work plus the embedded store's answer; calls
 * issued together count once), and everything else
 * (validation, throttle logic, ids, signing the access token, the response). The handler is the real one
 * (lambdas/login/app.ts) over the real adapters; only the hasher and the client are wrapped, to time them.
 */
import type { APIGatewayProxyEvent, APIGatewayProxyResult } from 'aws-lambda';
import { AccessTokenIssuer } from '../../../lambdas/core/access-token.js';
import { systemClock } from '../../../lambdas/core/clock.js';
import { sessionConfig, throttleConfig } from '../../../lambdas/core/config.js';
import { OWASP_SCRYPT, PasswordHasher } from '../../../lambdas/core/passwords.js';
import { AuthService } from '../../../lambdas/core/sessions.js';
import { LoginThrottle } from '../../../lambdas/core/throttle.js';
import { createDynamoClient, type DynamoCaller } from '../../../lambdas/adapters/dynamo/client.js';
import { DynamoSessionStore } from '../../../lambdas/adapters/dynamo/session-store.js';
import { DynamoThrottleStore } from '../../../lambdas/adapters/dynamo/throttle-store.js';
import { DynamoUserStore } from '../../../lambdas/adapters/dynamo/user-store.js';
import { createLoginHandler } from '../../../lambdas/login/app.js';
import { authEventsTo, createObservability } from '../../../lambdas/observability.js';
import { onCleanup } from '../lib/cleanup.js';
import { median, quantile, sortedCopy } from '../lib/stats.js';
import { AUDIENCE, ISSUER, LOGIN_USER, TABLE, type World } from '../lib/world.js';

class TimedHasher extends PasswordHasher {
  lastMs = 0;
  override async verify(password: string, phc: string | undefined): Promise<boolean> {
    const t0 = performance.now();
    try {
      return await super.verify(password, phc);
    } finally {
      this.lastMs = performance.now() - t0;
    }
  }
}

export interface LoginResults {
  logins: number;
  scrypt: { ln: number; N: number; r: number; p: number; memoryMiB: number };
  totalMsP50: number;
  hashMsP50: number;
  nonHashMsP50: number;
  nonHashMsP90: number;
  storeMsP50: number;
  storeCalls: number;
  restMsP50: number;
  /** Round trips of latency: calls issued together count once. */
  storeWaits: number;
}

export async function benchLogin(world: World, opts: { quick: boolean }): Promise<LoginResults> {
  const client = createDynamoClient({ region: 'local', endpoint: world.endpoint });
  onCleanup('login store client', () => client.destroy());
  // Time spent waiting on the store: the union of the intervals in which at least one call is in flight (the
  // login issues independent calls together), and how many such waits (round trips of latency) there are.
  let storeMs = 0;
  let storeCalls = 0;
  let storeWaits = 0;
  let inFlight = 0;
  let waitStart = 0;
  const call = client.call.bind(client);
  const counting: DynamoCaller = {
    destroy: () => client.destroy(),
    call: async <T>(...args: Parameters<DynamoCaller['call']>): Promise<T> => {
    storeCalls++;
    if (inFlight++ === 0) {
      waitStart = performance.now();
      storeWaits++;
    }
    try {
      return await call<T>(...args);
    } finally {
      if (--inFlight === 0) storeMs += performance.now() - waitStart;
    }
    },
  };
  const table = { client: counting, tableName: TABLE };
  const obs = createObservability('login', { publishMetrics: false });
  const hasher = new TimedHasher(OWASP_SCRYPT);
  const auth = new AuthService({
    users: new DynamoUserStore(table),
    sessions: new DynamoSessionStore(table),
    hasher,
    throttle: new LoginThrottle(new DynamoThrottleStore(table), throttleConfig({}), systemClock),
    tokens: new AccessTokenIssuer(world.signer, { issuer: ISSUER, audience: AUDIENCE, accessTokenTtlSeconds: 900 }, systemClock),
    clock: systemClock,
    config: sessionConfig({}),
    events: authEventsTo(obs),
  });
  const handler = createLoginHandler({ auth, obs }) as (e: APIGatewayProxyEvent) => Promise<APIGatewayProxyResult>;
  const event = {
    resource: '/auth/login',
    path: '/auth/login',
    httpMethod: 'POST',
    headers: { 'Content-Type': 'application/json' },
    multiValueHeaders: {},
    queryStringParameters: null,
    multiValueQueryStringParameters: null,
    pathParameters: null,
    stageVariables: null,
    isBase64Encoded: false,
    body: JSON.stringify({ username: LOGIN_USER.username, password: LOGIN_USER.password }),
    requestContext: { identity: { sourceIp: '127.0.0.1' } },
  } as unknown as APIGatewayProxyEvent;

  const n = opts.quick ? 8 : 15;
  const total: number[] = [];
  const hash: number[] = [];
  const store: number[] = [];
  let calls = 0;
  let waits = 0;
  for (let i = -1; i < n; i++) {
    storeMs = 0;
    storeCalls = 0;
    storeWaits = 0;
    const t0 = performance.now();
    const res = await handler(event);
    const dt = performance.now() - t0;
    if (res.statusCode !== 200) throw new Error(`login answered ${res.statusCode}: ${res.body}`);
    if (i < 0) continue; // first login: warms the SDK client and the connection
    total.push(dt);
    hash.push(hasher.lastMs);
    store.push(storeMs);
    calls = storeCalls;
    waits = storeWaits;
  }
  const nonHash = total.map((t, i) => t - hash[i]!);

  const rest = median(nonHash.map((x, i) => x - store[i]!));
  const { ln, r, p } = OWASP_SCRYPT;
  return {
    logins: n,
    scrypt: { ln, N: 2 ** ln, r, p, memoryMiB: (128 * 2 ** ln * r) / 2 ** 20 },
    totalMsP50: median(total),
    hashMsP50: median(hash),
    nonHashMsP50: median(nonHash),
    nonHashMsP90: quantile(sortedCopy(nonHash), 0.9),
    storeMsP50: median(store),
    storeCalls: calls,
    restMsP50: rest,
    storeWaits: waits,
  };
}
