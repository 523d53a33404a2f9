/**
 * Section 3: the store.
 * - Round trips, counted where they arrive (a counting endpoint in front of the embedded store) and by
 *   RevocationCheck.lookups. One container (one authorizer instance), one revocation window: mixed = 1,000
 *   authorized requests from 100 sessions, 10 distinct tokens each, shuffled; repeated = 1,000 with one token.
 * - Store read p50, warm: the authorizer's session lookup (one BatchGetItem of the session and user items, as
 *   adapters/dynamo/session-status.ts builds it from the Lambda's environment, over the SDK) and one GetItem
 *   through the stores' client, against the embedded store, alternating with the same calls through the old
 *   hand-written client of commit f78a304 (lib/history.ts) when git history has it.
 */
import { pathToFileURL } from 'node:url';
import { join } from 'node:path';
import type { APIGatewayTokenAuthorizerEvent } from 'aws-lambda';
import type { Env } from '../../../lambdas/core/config.js';
import type { SessionStatus } from '../../../lambdas/core/ports.js';
import type { DynamoCaller } from '../../../lambdas/adapters/dynamo/client.js';
import type { AuthorizerHandler } from '../../../lambdas/authorizer/compose.js';
import { composeBenchAuthorizer, sessionSourceFor } from '../lib/authorizer.js';
import { handwrittenTree } from '../lib/history.js';
import { median, rng, shuffle } from '../lib/stats.js';
import { AUDIENCE, ISSUER, METHOD_ARN, TABLE, type World } from '../lib/world.js';

export interface StoreRead {
  /** The authorizer's session lookup (BatchGetItem, 2 items, strongly consistent), p50 ms. */
  lookupMs: number;
  /** One strongly consistent GetItem through the stores' client, p50 ms. */
  getItemMs: number;
}

export interface StoreResults {
  requests: number;
  sessions: number;
  mixed: { storeRequests: number; lookups: number; perSession: number; allowed: number };
  repeated: { storeRequests: number; lookups: number };
  /** Warm store reads against the embedded store, alternating, `samples` each after a warm-up. */
  read: { samples: number; sdk: StoreRead; handwritten: (StoreRead & { commit: string }) | { reason: string } };
}

const total = (m: Map<string, number>): number => [...m.values()].reduce((a, b) => a + b, 0);

/** What the old tree's modules give the benchmark (plain shapes: its types are not this tree's). */
interface OldSource {
  lookup(sid: string, username: string): Promise<SessionStatus>;
}
interface OldStatusModule {
  sessionStatusFromEnv(env: Env): OldSource;
}
interface OldClientModule {
  createDynamoClient(cfg: { region: string; endpoint?: string }, env?: Env): DynamoCaller;
}

export async function benchStore(world: World): Promise<StoreResults> {
  const SESSIONS = 100;
  const PER_SESSION = 10;
  const sessions = await world.addSessions(SESSIONS, 's');
  const tokens: string[] = [];
  for (const s of sessions) for (let i = 0; i < PER_SESSION; i++) tokens.push(await world.mint(s));
  shuffle(tokens, rng(42));
  const events = tokens.map((t): APIGatewayTokenAuthorizerEvent => ({ type: 'TOKEN', authorizationToken: `Bearer ${t}`, methodArn: METHOD_ARN }));

  // The Lambda's environment, pointed at the store (or the counting endpoint in front of it).
  const envFor = (endpoint: string): Env => ({
    TOKEN_ISSUER: ISSUER,
    TOKEN_AUDIENCE: AUDIENCE,
    JWKS_JSON: JSON.stringify(world.jwks),
    TABLE_NAME: TABLE,
    DYNAMODB_ENDPOINT: endpoint,
    AWS_REGION: 'us-east-1',
    REVOCATION_CACHE_TTL_SECONDS: '30',
  });
  const sourceFor = sessionSourceFor;

  // A fresh container each: the authorizer as lambdas/authorizer/handler.ts composes it.
  const container = () => {
    const { client, source } = sourceFor(envFor(world.countingEndpoint));
    return { client, ...composeBenchAuthorizer(envFor(world.countingEndpoint), source) };
  };
  const run = async (handler: AuthorizerHandler, list: APIGatewayTokenAuthorizerEvent[]) => {
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

  // Store reads, warm: ours (SDK) and, when history has it, the old hand-written client, alternating.
  const env = envFor(world.endpoint);
  const s0 = sessions[0]!;
  const getInput = { TableName: TABLE, Key: { pk: { S: `SESSION#${s0.sid}` }, sk: { S: 'META' } }, ConsistentRead: true };
  const ours = sourceFor(env);
  type Reader = { lookup: () => Promise<unknown>; getItem: () => Promise<unknown>; destroy: () => void };
  const readers: { id: 'sdk' | 'handwritten'; r: Reader }[] = [
    { id: 'sdk', r: { lookup: () => ours.source.lookup(s0.sid, s0.sub), getItem: () => ours.client.call('GetItem', getInput), destroy: () => ours.client.destroy() } },
  ];
  const old = handwrittenTree();
  let oldReason = old.ok ? '' : old.reason;
  if (old.ok) {
    try {
      // Run as TypeScript by tsx, as the product's own modules are here; module instances of their own.
      const mod = (p: string) => pathToFileURL(join(old.dir, p)).href;
      const status = (await import(mod('lambdas/adapters/dynamo/session-status.ts'))) as OldStatusModule;
      const clientMod = (await import(mod('lambdas/adapters/dynamo/client.ts'))) as OldClientModule;
      const source = status.sessionStatusFromEnv(env);
      const client = clientMod.createDynamoClient({ region: 'us-east-1', endpoint: world.endpoint }, env);
      const check = await source.lookup(s0.sid, s0.sub);
      if (check.session?.username !== s0.sub) throw new Error('its lookup does not find the session');
      readers.push({ id: 'handwritten', r: { lookup: () => source.lookup(s0.sid, s0.sub), getItem: () => client.call('GetItem', getInput), destroy: () => client.destroy() } });
    } catch (err) {
      oldReason = `the old modules did not load: ${(err as Error)?.message}`;
    }
  }
  const samples = 200;
  const times = new Map(readers.map(({ id }) => [id, { lookup: [] as number[], getItem: [] as number[] }]));
  const random = rng(5);
  for (let i = -20; i < samples; i++) {
    for (const { id, r } of shuffle([...readers], random)) {
      let t0 = performance.now();
      await r.lookup();
      const l = performance.now() - t0;
      t0 = performance.now();
      await r.getItem();
      const g = performance.now() - t0;
      if (i >= 0) {
        times.get(id)!.lookup.push(l);
        times.get(id)!.getItem.push(g);
      }
    }
  }
  for (const { r } of readers) r.destroy();
  const p50 = (id: 'sdk' | 'handwritten'): StoreRead => ({ lookupMs: median(times.get(id)!.lookup), getItemMs: median(times.get(id)!.getItem) });

  return {
    requests: events.length,
    sessions: SESSIONS,
    mixed: { storeRequests: mixed.storeRequests, lookups: a.revocation.lookups, perSession: mixed.storeRequests / SESSIONS, allowed: mixed.allowed },
    repeated: { storeRequests: repeated.storeRequests, lookups: b.revocation.lookups },
    read: {
      samples,
      sdk: p50('sdk'),
      handwritten: times.has('handwritten') && old.ok ? { ...p50('handwritten'), commit: old.commit } : { reason: oldReason },
    },
  };
}
