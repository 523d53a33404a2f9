/**
 * No log line of any function ever carries a token, a password, a refresh token or a key: on success and on
 * every error path, with Powertools at its most talkative (POWERTOOLS_LOG_LEVEL=DEBUG, and even
 * POWERTOOLS_LOGGER_LOG_EVENT=true, which must have no effect: the event holds the secrets).
 *
 * Everything the process writes (stdout and stderr, so the Powertools logger, EMF metrics and anything that
 * uses `console`) is captured while
 * - every route is driven over HTTP through the local stack (`npm start`'s wiring, gateway + authorizer), and
 * - every Lambda entry (lambdas/<fn>/handler.ts) is invoked in process with a Lambda context, once against the
 *   live store and once against a dead one (store down: 503s and the authorizer's fail-closed error).
 * The sample app's services (examples/shop: orders, inventory) run in the HTTP part, including orders calling
 * inventory with the caller's forwarded token.
 * The captured text is then searched for every secret the test saw. The test also asserts that logs were
 * written at all (error lines, EMF lines, Lambda context in every line of the entries), so it can fail.
 */
import { afterAll, beforeAll, test } from '@jest/globals';
import assert from 'node:assert/strict';
import { createPrivateKey } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import type { APIGatewayAuthorizerResult, APIGatewayProxyEvent, APIGatewayProxyResult, APIGatewayTokenAuthorizerEvent, Context } from 'aws-lambda';
import { createLambdaContext } from '../../lib/local/lambda-context.js';
import { authorizerRoutes } from '../../lib/bundling.js';
import { routes } from '../helpers/demo-routes.js';
import { bearer, DEMO, get, login, newUser, post, startTestStack, type TestStack, type Tokens } from '../helpers/local.js';

// Read by Powertools when a Logger / Metrics is constructed: before the stack and the entries are built.
Object.assign(process.env, {
  POWERTOOLS_LOG_LEVEL: 'DEBUG',
  POWERTOOLS_LOGGER_LOG_EVENT: 'true',
  POWERTOOLS_METRICS_DISABLED: 'false',
  AWS_LAMBDA_INITIALIZATION_TYPE: 'on-demand',
});

let h: TestStack;
const secrets = new Set<string>();
const output: string[] = [];

/** Remembers a secret, and the parts of it that would betray it on their own. */
function secret(value: string): string {
  secrets.add(value);
  if (value.startsWith('rt_')) secrets.add(value.slice(3));
  const parts = value.split('.');
  if (parts.length === 3 && parts[2]!.length > 20) secrets.add(parts[2]!); // a JWS: its signature is unique to it
  return value;
}
const tokens = (t: Tokens): Tokens => (secret(t.access_token), secret(t.refresh_token), t);
const garbage = (): string => secret(`garbage-${randomBytes(24).toString('base64url')}`);

/**
 * Runs `fn` with every text the process writes to stdout/stderr (console, Powertools) going into `output`
 * instead. Binary chunks pass through: they are the test runner's own (serialized) reports, not logs.
 */
async function captured<T>(fn: () => Promise<T>): Promise<T> {
  const out = process.stdout.write;
  const err = process.stderr.write;
  const sink = (original: typeof process.stdout.write) =>
    ((chunk: string | Uint8Array, ...rest: unknown[]) => {
      if (typeof chunk !== 'string') return (original as (...a: unknown[]) => boolean).call(process.stdout, chunk, ...rest);
      output.push(chunk);
      return true;
    }) as typeof process.stdout.write;
  process.stdout.write = sink(out);
  process.stderr.write = sink(err);
  try {
    return await fn();
  } finally {
    process.stdout.write = out;
    process.stderr.write = err;
  }
}

beforeAll(async () => {
  h = await captured(() => startTestStack());
  // The signing key: its PEM (every base64 line of it) and its private scalar `d` as a JWK would carry it.
  const pem = readFileSync(h.stack.env.SIGNING_KEY_FILE!, 'utf8');
  for (const line of pem.split('\n')) if (line.length > 20 && !line.startsWith('-----')) secret(line);
  const jwk = createPrivateKey(pem).export({ format: 'jwk' }) as { d?: string };
  assert.ok(jwk.d);
  secret(jwk.d);
  for (const u of Object.values(DEMO)) secret(u.password);
});
afterAll(() => h?.close());

test('the whole HTTP surface through the local stack, success and error paths', async () => {
  await captured(async () => {
    const expect = async (p: Promise<{ status: number; text: string }>, status: number, what: string) => {
      const r = await p;
      assert.equal(r.status, status, `${what}: ${r.text}`);
    };
    // login: ok, bad password, unknown user, bad bodies, too large, throttled.
    const a = tokens(await login(h, DEMO.alice.username, DEMO.alice.password));
    await expect(post(h, '/auth/login', { username: 'alice', password: secret('wrong-password-for-alice') }), 401, 'bad password');
    await expect(post(h, '/auth/login', { username: 'nobody-here', password: secret('password-of-nobody') }), 401, 'unknown user');
    await expect(post(h, '/auth/login', `{"username":"alice","password":"${secret('broken-json-password')}"`), 400, 'malformed JSON');
    await expect(post(h, '/auth/login', { username: 'alice', password: 12345 }), 400, 'password not a string');
    await expect(post(h, '/auth/login', { username: 'alice' }), 400, 'no password');
    const form = (body: string) =>
      fetch(`${h.url}/auth/login`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body }).then(async (r) => ({ status: r.status, text: await r.text() }));
    await expect(form(`username=alice&password=${secret('form-encoded-wrong-password')}`), 401, 'form body, wrong password');
    await expect(post(h, '/auth/login', { username: 'alice', password: secret(`oversized-${'p'.repeat(9000)}`) }), 413, 'too large');
    const victim = await newUser(h, ['orders:read'], 'throttled');
    secret(victim.password);
    let throttled = false;
    for (let i = 0; i < 8 && !throttled; i++) {
      const r = await post(h, '/auth/login', { username: victim.username, password: secret(`wrong-${i}-${randomBytes(6).toString('hex')}`) });
      throttled = r.status === 429;
    }
    assert.ok(throttled, 'the throttle answered 429');

    // refresh: ok (rotation), reuse (revokes the session), garbage, missing, cookie without the CSRF header.
    const b = tokens((await post(h, '/auth/refresh', { refresh_token: a.refresh_token })).json as Tokens);
    assert.ok(b.refresh_token);
    await expect(post(h, '/auth/refresh', { refresh_token: a.refresh_token }), 401, 'reuse');
    await expect(post(h, '/auth/refresh', { refresh_token: b.refresh_token }), 401, 'after reuse, the session is dead');
    await expect(post(h, '/auth/refresh', { refresh_token: garbage() }), 401, 'garbage refresh token');
    await expect(post(h, '/auth/refresh', { refresh_token: `rt_${garbage()}` }), 401, 'unknown refresh token');
    await expect(post(h, '/auth/refresh', {}), 400, 'no refresh token');
    const c = tokens(await login(h, DEMO.alice.username, DEMO.alice.password));
    await expect(post(h, '/auth/refresh', undefined, { cookie: `__Host-tg_refresh=${c.refresh_token}` }), 403, 'cookie without X-Token-Delivery');

    // The authorizer and the orders service: allow, deny (403), unauthorized (garbage, tampered, none), jwks.
    const bob = tokens(await login(h, DEMO.bob.username, DEMO.bob.password));
    await expect(get(h, '/orders', bearer(c.access_token)), 200, 'GET /orders');
    await expect(post(h, '/orders', { item: 'tea', quantity: 2 }, bearer(c.access_token)), 201, 'POST /orders');
    await expect(post(h, '/orders', { item: 'tea', quantity: -1 }, bearer(c.access_token)), 400, 'POST /orders, bad quantity');
    await expect(get(h, '/orders/does-not-exist', bearer(c.access_token)), 404, 'GET /orders/{id}');
    await expect(fetch(`${h.url}/orders/1`, { method: 'DELETE', headers: bearer(bob.access_token) }).then(async (r) => ({ status: r.status, text: await r.text() })), 403, 'deny');
    await expect(get(h, '/orders', bearer(garbage())), 401, 'garbage token');
    const [hd, pl] = c.access_token.split('.');
    await expect(get(h, '/orders', bearer(secret(`${hd}.${pl}.${randomBytes(64).toString('base64url')}`))), 401, 'forged signature');
    await expect(get(h, '/orders', { authorization: `Basic ${secret(Buffer.from(`alice:${DEMO.alice.password}`).toString('base64'))}` }), 401, 'basic auth');
    await expect(get(h, '/orders'), 401, 'no token');
    await expect(get(h, '/.well-known/jwks.json'), 200, 'jwks');

    // The sample app: orders calls inventory with the caller's forwarded token (200), refused without the
    // permission (403), inventory's 409 and 404 passed on; inventory directly.
    const carol = tokens(await login(h, 'carol', secret('carol-password-1')));
    const orderOf = async (t: Tokens, item: string, quantity: number) =>
      ((await post(h, '/orders', { item, quantity }, bearer(t.access_token))).json as { order: { id: string } }).order.id;
    const fulfil = (t: Tokens, id: string) => post(h, `/orders/${id}/fulfil`, undefined, bearer(t.access_token));
    await expect(fulfil(c, await orderOf(c, 'tea', 1)), 200, 'fulfil as alice');
    await expect(fulfil(carol, await orderOf(carol, 'tea', 1)), 403, 'fulfil as carol');
    await expect(fulfil(c, await orderOf(c, 'coffee', 999)), 409, 'fulfil, not enough stock');
    await expect(fulfil(c, await orderOf(c, 'cake', 1)), 404, 'fulfil, unknown item');
    await expect(get(h, '/inventory/tea', bearer(bob.access_token)), 200, 'GET /inventory/tea');
    await expect(post(h, '/inventory/tea/reservations', { quantity: 'x' }, bearer(c.access_token)), 400, 'reservation, bad quantity');
    await expect(post(h, '/inventory/tea/reservations', { quantity: 1 }, bearer(bob.access_token)), 403, 'reservation as bob');

    // logout: refresh token + bearer, everywhere, bad bearer, nothing, cookie without the CSRF header.
    await expect(post(h, '/auth/logout', { refresh_token: c.refresh_token }, bearer(c.access_token)), 204, 'logout');
    const d = tokens(await login(h, DEMO.alice.username, DEMO.alice.password));
    await expect(post(h, '/auth/logout', { all: true }, bearer(d.access_token)), 204, 'logout everywhere');
    await expect(post(h, '/auth/logout', {}, bearer(garbage())), 401, 'logout with a garbage bearer');
    await expect(post(h, '/auth/logout', { all: 'maybe' }, bearer(bob.access_token)), 400, 'logout with a bad body');
    await expect(post(h, '/auth/logout', {}), 401, 'logout with nothing');
    await expect(post(h, '/auth/logout', undefined, { cookie: `__Host-tg_refresh=${bob.refresh_token}` }), 403, 'logout cookie without X-Token-Delivery');
  });
});

type ProxyFn = (e: APIGatewayProxyEvent, c?: Context) => Promise<APIGatewayProxyResult>;
type AuthorizerFn = (e: APIGatewayTokenAuthorizerEvent, c?: Context) => Promise<APIGatewayAuthorizerResult>;
// tokengate's own functions (the sample app's services run in the HTTP part above).
const FUNCTIONS = ['login', 'refresh', 'logout', 'jwks', 'authorizer'] as const;
type Fn = (typeof FUNCTIONS)[number];

const ev = (name: string, over: Partial<APIGatewayProxyEvent> = {}): APIGatewayProxyEvent => {
  const e = JSON.parse(readFileSync(new URL(`../events/${name}.json`, import.meta.url), 'utf8')) as APIGatewayProxyEvent;
  return { ...e, ...over, headers: { ...e.headers, ...over.headers } };
};
const ctx = (fn: string): Context => createLambdaContext(`tokengate-${fn}`, { region: 'us-east-1', accountId: '123456789012' }, 5000);

/** Imports every Lambda entry afresh (its own module instance: entries read the environment at init). */
async function loadEntries(tag: string, env: Record<string, string>): Promise<Record<Fn, unknown>> {
  // Unbundled, the authorizer reads its route table at run time (a bundle has it compiled in: lib/bundling.ts).
  Object.assign(process.env, { TOKENGATE_ROUTES: JSON.stringify(authorizerRoutes(routes)) }, env);
  const loaded = {} as Record<Fn, unknown>;
  for (const f of FUNCTIONS) {
    loaded[f] = ((await import(new URL(`../../lambdas/${f}/handler.ts?entries=${tag}`, import.meta.url).href)) as { handler: unknown }).handler;
  }
  return loaded;
}

test('every Lambda entry, against the live store and against a dead one', async () => {
  const saved = { ...process.env };
  const start = output.length;
  try {
    await captured(async () => {
      // The stack's environment is what the stack sets for the functions (local signer in place of KMS).
      const live = await loadEntries('live', { ...h.stack.env });
      const fns = live as { login: ProxyFn; refresh: ProxyFn; logout: ProxyFn; jwks: ProxyFn; authorizer: AuthorizerFn };
      const loginRes = await fns.login(ev('login', { body: JSON.stringify(DEMO.admin) }), ctx('login'));
      assert.equal(loginRes.statusCode, 200, loginRes.body);
      const t = tokens(JSON.parse(loginRes.body) as Tokens);
      assert.equal((await fns.login(ev('login', { body: JSON.stringify({ username: 'admin', password: secret('not-the-admin-password') }) }), ctx('login'))).statusCode, 401);
      assert.equal((await fns.login(ev('login', { body: secret('{"username":"admin","password":"half-a-json') }), ctx('login'))).statusCode, 400);

      const tokenEvent = JSON.parse(readFileSync(new URL('../events/authorizer-token.json', import.meta.url), 'utf8')) as APIGatewayTokenAuthorizerEvent;
      const policy = await fns.authorizer({ ...tokenEvent, authorizationToken: `Bearer ${t.access_token}` }, ctx('authorizer'));
      assert.equal(policy.policyDocument.Statement[0]?.Effect, 'Allow');
      await assert.rejects(fns.authorizer({ ...tokenEvent, authorizationToken: `Bearer ${garbage()}` }, ctx('authorizer')), { message: 'Unauthorized' });
      // A methodArn that is not an ARN (a hand-made event) is refused like a bad token since issue 11, not an error.
      await assert.rejects(fns.authorizer({ ...tokenEvent, methodArn: 'not-an-arn', authorizationToken: `Bearer ${t.access_token}` }, ctx('authorizer')), { message: 'Unauthorized' });

      assert.equal((await fns.jwks(ev('jwks'), ctx('jwks'))).statusCode, 200);

      const r = await fns.refresh(ev('refresh', { body: JSON.stringify({ refresh_token: t.refresh_token }) }), ctx('refresh'));
      assert.equal(r.statusCode, 200, r.body);
      const rotated = tokens(JSON.parse(r.body) as Tokens);
      assert.equal((await fns.refresh(ev('refresh', { body: JSON.stringify({ refresh_token: garbage() }) }), ctx('refresh'))).statusCode, 401);
      const out = await fns.logout(
        ev('logout', { headers: { Authorization: `Bearer ${rotated.access_token}` }, body: JSON.stringify({ refresh_token: rotated.refresh_token }) }),
        ctx('logout'),
      );
      assert.equal(out.statusCode, 204, out.body);
      assert.equal((await fns.logout(ev('logout', { headers: { Authorization: `Bearer ${garbage()}` }, body: '{}' }), ctx('logout'))).statusCode, 401);

      // The store is down: every store-backed function answers 503 (the authorizer: its fail-closed error).
      const fresh = tokens(await login(h, DEMO.bob.username, DEMO.bob.password));
      const down = (await loadEntries('down', { ...h.stack.env, DYNAMODB_ENDPOINT: 'http://127.0.0.1:9', STORE_DEADLINE_MS: '400' })) as typeof fns;
      assert.equal((await down.login(ev('login', { body: JSON.stringify(DEMO.bob) }), ctx('login'))).statusCode, 503);
      assert.equal((await down.refresh(ev('refresh', { body: JSON.stringify({ refresh_token: fresh.refresh_token }) }), ctx('refresh'))).statusCode, 503);
      const downOut = await down.logout(ev('logout', { headers: { Authorization: `Bearer ${fresh.access_token}` }, body: JSON.stringify({ refresh_token: fresh.refresh_token }) }), ctx('logout'));
      assert.equal(downOut.statusCode, 503);
      await assert.rejects(down.authorizer({ ...tokenEvent, authorizationToken: `Bearer ${fresh.access_token}` }, ctx('authorizer')), (e: Error) => e.message === 'authorizer failure');
    });
  } finally {
    for (const k of Object.keys(process.env)) if (!(k in saved)) delete process.env[k];
    Object.assign(process.env, saved);
  }

  // Logs were written, in the shape Powertools gives them: Lambda context on every line of the entries.
  const lines = output.slice(start).join('').split('\n').filter((l) => l.trim() !== '');
  const json = lines.map((l) => JSON.parse(l) as Record<string, unknown>);
  const logs = json.filter((j) => !('_aws' in j));
  const emf = json.filter((j) => '_aws' in j);
  // At least the four error lines asserted exactly below (one per failing entry against the dead store).
  assert.ok(logs.length >= 4, `log lines: ${logs.length}`);
  for (const l of logs) {
    assert.equal(typeof l.function_request_id, 'string', `Lambda context in: ${JSON.stringify(l)}`);
    assert.match(String(l.function_name), /^tokengate-/);
  }
  const errors = logs.filter((l) => l.level === 'ERROR');
  assert.deepEqual(
    [...new Set(errors.map((l) => `${String(l.service)}: ${String(l.message)} (${String(l.errorName)})`))].sort(),
    [
      'authorizer: authorizer failure (DependencyUnavailableError)',
      // (No 'authorizer failure (Error)' any more: the non-ARN methodArn is an Unauthorized, not an error.)
      'login: request failed (DependencyUnavailableError)',
      'logout: request failed (DependencyUnavailableError)',
      'refresh: request failed (DependencyUnavailableError)',
    ],
  );
  const metricNames = new Set(emf.flatMap((e) => (e._aws as { CloudWatchMetrics: { Metrics: { Name: string }[] }[] }).CloudWatchMetrics[0]!.Metrics.map((m) => m.Name)));
  for (const m of ['ColdStart', 'LoginSuccess', 'LoginFailure', 'Refresh', 'Logout', 'AuthorizerAllow', 'AuthorizerUnauthorized', 'AuthorizerError']) {
    assert.ok(metricNames.has(m), `metric ${m} in ${[...metricNames].join(', ')}`);
  }
});

test('no captured line carries a secret (and the capture is not empty)', () => {
  const text = output.join('');
  assert.ok(text.length > 1000, `captured ${text.length} characters`);
  assert.ok(secrets.size > 30, `${secrets.size} secrets collected`);
  for (const s of secrets) {
    assert.ok(!text.includes(s), `a secret (${s.slice(0, 6)}…, ${s.length} chars) appears in the logs`);
  }
});
