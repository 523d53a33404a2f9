/**
 * service/verifier.ts against a real JWKS served over HTTP on 127.0.0.1:
 * - the same verdict and the same reason as the authorizer's verifier for every token of the verifier corpus
 *   (test/bench/lib/corpus.ts: valid, forged and malformed tokens under several key sets), because both run
 *   aws-jwt-verify with the one shared profile (lambdas/core/access-token-profile.ts);
 * - the key set is fetched once and cached (no request per verification); a token with an unknown kid makes
 *   aws-jwt-verify refetch at most once per penalty window, however many such tokens come; a rotated-in key is
 *   picked up by that refetch;
 * - a JWKS that cannot be fetched or is not a key set fails closed (JwksUnavailableError), never accepted.
 */
import { afterAll, beforeAll, expect, test } from '@jest/globals';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { AccessTokenVerifier } from '../../lambdas/core/access-token.js';
import { ManualClock } from '../../lambdas/core/clock.js';
import type { Jwks } from '../../lambdas/core/ports.js';
import { createTokenVerifier, InvalidTokenError, JwksUnavailableError, type TokenVerifier } from '../../service/index.js';
import { AUDIENCE, buildCorpus, ISSUER } from '../bench/lib/corpus.js';
import { goodClaims, jwksOf, newTestKey, signEs256, type TestKey } from '../helpers/jwt.js';

/** JWKS documents by path; every request counted per path. A path maps to a status to answer instead. */
const documents = new Map<string, Jwks | number | string>();
const requests = new Map<string, number>();
let server: Server;
let base: string;

beforeAll(async () => {
  server = createServer((req, res) => {
    const path = req.url ?? '';
    requests.set(path, (requests.get(path) ?? 0) + 1);
    const doc = documents.get(path);
    if (doc === undefined || typeof doc === 'number') {
      res.writeHead(typeof doc === 'number' ? doc : 404).end();
      return;
    }
    res.writeHead(200, { 'content-type': 'application/json' }).end(typeof doc === 'string' ? doc : JSON.stringify(doc));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise((r) => server.close(r));
});

const clock = new ManualClock(Date.now());
const nowS = () => Math.floor(clock.now() / 1000);
const verifierAt = (path: string, jwks?: Jwks): TokenVerifier => {
  if (jwks) documents.set(path, jwks);
  return createTokenVerifier({ jwksUrl: `${base}${path}`, issuer: ISSUER, audience: AUDIENCE, leewaySeconds: 5, clock });
};
const tokenOf = (key: TestKey, over: Record<string, unknown> = {}) =>
  signEs256(key, { alg: 'ES256', typ: 'at+jwt', kid: key.jwk.kid }, goodClaims(nowS(), { iss: ISSUER, aud: AUDIENCE, ...over }));

/** 'accepted', the TokenRejection, or the class of anything else. */
async function verdict(f: () => unknown): Promise<string> {
  try {
    await f();
    return 'accepted';
  } catch (err) {
    return err instanceof InvalidTokenError ? err.reason : `${(err as Error)?.name}: ${(err as Error)?.message}`;
  }
}

test('every corpus token gets the same verdict and reason from the service verifier as from the authorizer\'s', async () => {
  const corpus = buildCorpus(nowS());
  const mismatches: string[] = [];
  let cases = 0;
  for (const [i, { keySet, jwks, cases: list }] of corpus.entries()) {
    const path = `/corpus/${i}/jwks.json`;
    const service = verifierAt(path, jwks);
    const authorizer = new AccessTokenVerifier({ issuer: ISSUER, audience: AUDIENCE, jwks, leewaySeconds: 5, clock });
    // Twice each: fresh, then warm (cached keys, and the penalty box closed after an unknown kid).
    for (const pass of ['fresh', 'warm']) {
      for (const c of list) {
        const fromAuthorizer = await verdict(() => authorizer.verify(c.token));
        const fromService = await verdict(() => service.verify(c.token));
        if (pass === 'fresh') cases++;
        if (fromService !== fromAuthorizer || fromService !== c.expect) {
          mismatches.push(`${keySet} / ${c.name} (${pass}): expected ${c.expect}, authorizer ${fromAuthorizer}, service ${fromService}`);
        }
      }
    }
    const hasUnknownKid = list.some((c) => c.expect === 'unknown_kid');
    // One fetch of the set, plus at most one refetch for all the unknown kids of both passes.
    assert.equal(requests.get(path), hasUnknownKid ? 2 : 1, `${keySet}: JWKS requests`);
  }
  assert.ok(cases > 120, `corpus has ${cases} cases`);
  assert.equal(mismatches.length, 0, mismatches.join('\n'));
});

test('the JWKS is fetched once and cached; an unknown kid refetches at most once per window; rotation is picked up', async () => {
  const active = newTestKey();
  const next = newTestKey();
  const path = '/rotation/jwks.json';
  const v = verifierAt(path, jwksOf(active));
  await v.hydrate();
  assert.equal(requests.get(path), 1);
  for (let i = 0; i < 50; i++) await v.verify(tokenOf(active));
  const caller = await v.verifyCaller(tokenOf(active, { sub: 'bob', scope: 'inventory:read' }));
  assert.equal(caller.sub, 'bob');
  assert.ok(caller.can('inventory:read') && !caller.can('inventory:reserve'));
  assert.equal(requests.get(path), 1, 'no request per verification');

  // A new key is published: the first token signed with it makes one refetch, and is accepted.
  documents.set(path, jwksOf(active, next));
  assert.equal((await v.verify(tokenOf(next))).sub, 'alice');
  assert.equal(requests.get(path), 2);

  // Forged kids: one refetch, then the penalty box refuses to fetch again within its window.
  const strangers = [newTestKey(), newTestKey(), newTestKey()];
  for (const s of strangers) assert.equal(await verdict(() => v.verify(tokenOf(s))), 'unknown_kid');
  assert.equal(await verdict(() => v.verify(tokenOf(strangers[0]!))), 'unknown_kid');
  assert.equal(requests.get(path), 3, 'one refetch for four tokens with unknown kids');
  // Known keys still verify from the cache meanwhile.
  await v.verify(tokenOf(active));
  await v.verify(tokenOf(next));
  assert.equal(requests.get(path), 3);
});

test('fails closed when the JWKS cannot be had: an error status, a server that is gone, a body that is not a key set', async () => {
  const key = newTestKey();
  documents.set('/down/jwks.json', 503);
  documents.set('/garbage/jwks.json', '{"keys": "nope"}');
  for (const path of ['/down/jwks.json', '/garbage/jwks.json', '/missing/jwks.json']) {
    await expect(verifierAt(path).verify(tokenOf(key))).rejects.toBeInstanceOf(JwksUnavailableError);
  }
  const gone = createServer();
  await new Promise<void>((r) => gone.listen(0, '127.0.0.1', r));
  const port = (gone.address() as AddressInfo).port;
  await new Promise((r) => gone.close(r));
  const v = createTokenVerifier({ jwksUrl: `http://127.0.0.1:${port}/jwks.json`, issuer: ISSUER, audience: AUDIENCE });
  await expect(v.verify(tokenOf(key))).rejects.toBeInstanceOf(JwksUnavailableError);
  await expect(v.hydrate()).rejects.toBeInstanceOf(JwksUnavailableError);
  // A malformed token is refused before any fetch.
  await expect(verifierAt('/never/jwks.json').verify('not.a.token!')).rejects.toMatchObject({ reason: 'malformed' });
  assert.equal(requests.get('/never/jwks.json'), undefined);
});

test('the JWKS URL must be https, or http on the loopback interface', () => {
  const opts = { issuer: ISSUER, audience: AUDIENCE };
  assert.throws(() => createTokenVerifier({ ...opts, jwksUrl: 'http://auth.example.com/.well-known/jwks.json' }), /https/);
  assert.throws(() => createTokenVerifier({ ...opts, jwksUrl: 'not a url' }), TypeError);
  createTokenVerifier({ ...opts, jwksUrl: 'https://auth.example.com/.well-known/jwks.json' });
  createTokenVerifier({ ...opts, jwksUrl: 'http://localhost:3000/.well-known/jwks.json' });
  createTokenVerifier({ ...opts, jwksUrl: 'http://[::1]:3000/.well-known/jwks.json' });
});
