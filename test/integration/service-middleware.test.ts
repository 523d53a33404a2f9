/**
 * service/middleware.ts: `authenticate()` in front of a plain node:http server and in an Express app, with a
 * real verifier on a real JWKS over HTTP: no token → 401 `WWW-Authenticate: Bearer realm="tokengate"`; a bad or
 * expired token → 401 with `error="invalid_token"`; a valid token without the required permission → 403
 * `error="insufficient_scope", scope=…` naming it; a valid token → the handler runs with `req.caller`; the JWKS
 * down → 503 (fail closed). Plus forwarding: the service calls another one with the caller's token.
 */
import { afterAll, beforeAll, expect, test } from '@jest/globals';
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import express from 'express';
import { ManualClock } from '../../lambdas/core/clock.js';
import { authenticate, type AuthenticatedRequest, createTokenVerifier, forwardingFetch } from '../../service/index.js';
import { goodClaims, jwksOf, newTestKey, signEs256 } from '../helpers/jwt.js';

const ISSUER = 'https://issuer.test';
const AUDIENCE = 'tokengate-api';
const key = newTestKey();
const clock = new ManualClock(Date.now());
const nowS = () => Math.floor(clock.now() / 1000);
const token = (over: Record<string, unknown> = {}) =>
  signEs256(key, { alg: 'ES256', typ: 'at+jwt', kid: key.jwk.kid }, goodClaims(nowS(), { iss: ISSUER, aud: AUDIENCE, ...over }));

const servers: Server[] = [];
async function listen(server: Server): Promise<string> {
  servers.push(server);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

let jwksUrl: string;
let jwksUp = true;
let nodeUrl: string;
let expressUrl: string;
let downUrl: string;
/** What the downstream service saw of the forwarded call. */
let downstreamSaw: { sub: string; authorization: string | undefined } | undefined;

beforeAll(async () => {
  const jwksBase = await listen(
    createServer((_req, res) => {
      if (!jwksUp) res.writeHead(503).end();
      else res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(jwksOf(key)));
    }),
  );
  jwksUrl = `${jwksBase}/.well-known/jwks.json`;
  const verifier = createTokenVerifier({ jwksUrl, issuer: ISSUER, audience: AUDIENCE, clock });

  // A downstream service (Express) that verifies the token itself and needs inventory:reserve.
  const downstream = express();
  downstream.post('/inventory/tea/reservations', authenticate({ verifier, required: 'inventory:reserve' }), (req, res) => {
    downstreamSaw = { sub: (req as unknown as AuthenticatedRequest).caller.sub, authorization: req.headers.authorization };
    res.status(201).json({ by: (req as unknown as AuthenticatedRequest).caller.sub });
  });
  downUrl = await listen(createServer(downstream));

  // node:http: call the middleware, do the work in next().
  const guard = authenticate({ verifier, required: 'orders:read' });
  nodeUrl = await listen(
    createServer((req: IncomingMessage, res: ServerResponse) =>
      guard(req, res, () => {
        const { caller } = req as AuthenticatedRequest;
        res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ sub: caller.sub, permissions: caller.permissions }));
      }),
    ),
  );

  // Express: app-wide authentication, then a route that calls the downstream service as the caller.
  const app = express();
  app.use(authenticate({ verifier }));
  app.get('/me', (req, res) => {
    res.json({ sub: (req as unknown as AuthenticatedRequest).caller.sub });
  });
  app.post('/fulfil', async (req, res) => {
    const call = forwardingFetch(req, { baseUrl: downUrl });
    const r = await call('/inventory/tea/reservations', { method: 'POST', body: '{"quantity":1}' });
    res.status(r.status).json(await r.json());
  });
  expressUrl = await listen(createServer(app));
});

afterAll(async () => {
  for (const s of servers) {
    s.closeAllConnections();
    await new Promise((r) => s.close(r));
  }
});

const get = (url: string, headers: Record<string, string> = {}) => fetch(url, { headers });
const bearer = (t: string) => ({ authorization: `Bearer ${t}` });

for (const [name, url] of [
  ['node:http', () => nodeUrl],
  ['Express', () => `${expressUrl}/me`],
] as const) {
  test(`${name}: 401 with the RFC 6750 challenge for no token, a bad token and an expired one`, async () => {
    const none = await get(url());
    assert.equal(none.status, 401);
    assert.equal(none.headers.get('www-authenticate'), 'Bearer realm="tokengate"');
    expect(await none.json()).toEqual({ message: 'Unauthorized' });
    for (const bad of [token({ aud: 'other-api' }), token({ exp: nowS() - 60 }), `${token()}x`, 'not.a.token']) {
      const r = await get(url(), bearer(bad));
      assert.equal(r.status, 401);
      assert.equal(r.headers.get('www-authenticate'), 'Bearer realm="tokengate", error="invalid_token"');
      expect(await r.json()).toEqual({ message: 'Unauthorized' });
    }
    assert.equal((await get(url(), { authorization: 'Basic dXNlcjpwdw==' })).status, 401);
  });

  test(`${name}: a valid token reaches the handler with req.caller`, async () => {
    const r = await get(url(), bearer(token()));
    assert.equal(r.status, 200);
    expect(((await r.json()) as { sub: string }).sub).toEqual('alice');
  });
}

test('403 insufficient_scope names the missing permission (body and challenge)', async () => {
  const r = await get(nodeUrl, bearer(token({ scope: 'inventory:read' })));
  assert.equal(r.status, 403);
  assert.equal(r.headers.get('www-authenticate'), 'Bearer realm="tokengate", error="insufficient_scope", scope="orders:read"');
  expect(await r.json()).toEqual({ message: 'Forbidden', error: 'insufficient_scope', required: 'orders:read' });
  assert.equal((await get(nodeUrl, bearer(token({ scope: 'orders:*' })))).status, 200, 'resource:* grants it');
});

test('propagation: the Express service calls the next one with the caller\'s own token, which decides with the user\'s permissions', async () => {
  const alice = token({ scope: 'orders:read inventory:reserve' });
  const ok = await fetch(`${expressUrl}/fulfil`, { method: 'POST', headers: bearer(alice) });
  assert.equal(ok.status, 201);
  expect(downstreamSaw).toEqual({ sub: 'alice', authorization: `Bearer ${alice}` });

  downstreamSaw = undefined;
  const carol = token({ sub: 'carol', scope: 'orders:read orders:write' });
  const denied = await fetch(`${expressUrl}/fulfil`, { method: 'POST', headers: bearer(carol) });
  assert.equal(denied.status, 403);
  expect(await denied.json()).toEqual({ message: 'Forbidden', error: 'insufficient_scope', required: 'inventory:reserve' });
  assert.equal(downstreamSaw, undefined, 'the downstream handler never ran');
});

test('the JWKS unreachable before it was ever fetched: 503, never let through', async () => {
  jwksUp = false;
  try {
    const fresh = authenticate({ verifier: createTokenVerifier({ jwksUrl, issuer: ISSUER, audience: AUDIENCE, clock }) });
    const url = await listen(createServer((req, res) => fresh(req, res, () => res.writeHead(200).end('let through'))));
    const r = await get(url, bearer(token()));
    assert.equal(r.status, 503);
    assert.equal(r.headers.get('retry-after'), '1');
    expect(await r.json()).toEqual({ message: 'Service Unavailable' });
  } finally {
    jwksUp = true;
  }
});
