/**
 * A corpus of access tokens for the differential check of our verifier against the aws-jwt-verify reference:
 * valid ones, forged ones, and every malformation we could think of, under several key sets (rotation, a JWK
 * without `alg`, a duplicated kid, a JWK that does not import). Each case must get the same verdict and reason.
 */
import { createHmac, generateKeyPairSync, sign, type KeyObject } from 'node:crypto';
import { AccessTokenVerifier } from '../../../lambdas/core/access-token.js';
import { ManualClock } from '../../../lambdas/core/clock.js';
import { InvalidTokenError } from '../../../lambdas/core/errors.js';
import { publicJwkOf } from '../../../lambdas/core/jwk.js';
import type { Jwks, PublicJwk } from '../../../lambdas/core/ports.js';
import { ReferenceAccessTokenVerifier } from '../reference-verifier.js';
import { goodClaims } from '../../helpers/jwt.js';

export const ISSUER = 'https://issuer.test';
export const AUDIENCE = 'tokengate-api';

interface Key {
  privateKey: KeyObject;
  jwk: PublicJwk;
}

const newKey = (curve = 'P-256'): Key => {
  const { privateKey } = generateKeyPairSync('ec', { namedCurve: curve });
  if (curve === 'P-256') return { privateKey, jwk: publicJwkOf(privateKey) };
  const j = privateKey.export({ format: 'jwk' }) as { x: string; y: string; crv: string };
  return { privateKey, jwk: { kty: 'EC', crv: j.crv as 'P-256', x: j.x, y: j.y, kid: `k-${curve}`, alg: 'ES256', use: 'sig' } };
};

const b64 = (v: unknown): string => Buffer.from(typeof v === 'string' ? v : JSON.stringify(v)).toString('base64url');
const rawB64 = (s: string): string => Buffer.from(s, 'utf8').toString('base64url');

function es(key: Key, header: unknown, payload: unknown, opts: { rawHeader?: string; rawPayload?: string; digest?: string } = {}): string {
  const input = `${opts.rawHeader ?? b64(header)}.${opts.rawPayload ?? b64(payload)}`;
  const sig = sign(opts.digest ?? 'sha256', Buffer.from(input), { key: key.privateKey, dsaEncoding: 'ieee-p1363' });
  return `${input}.${sig.toString('base64url')}`;
}

export interface CorpusCase {
  name: string;
  token: string;
}

export interface KeySetCases {
  keySet: string;
  jwks: Jwks;
  cases: CorpusCase[];
}

export function buildCorpus(nowSeconds: number): KeySetCases[] {
  const key = newKey();
  const next = newKey();
  const stranger = newKey();
  const p384 = newKey('P-384');
  const claims = (over: Record<string, unknown> = {}): Record<string, unknown> =>
    goodClaims(nowSeconds, { iss: ISSUER, aud: AUDIENCE, ...over });
  const hdr = (over: Record<string, unknown> = {}, k: Key = key): Record<string, unknown> => ({ alg: 'ES256', typ: 'at+jwt', kid: k.jwk.kid, ...over });
  const without = (o: Record<string, unknown>, name: string) => {
    const c = { ...o };
    delete c[name];
    return c;
  };
  const good = es(key, hdr(), claims());
  const [gh, gp, gs] = good.split('.') as [string, string, string];
  const sigBytes = Buffer.from(gs, 'base64url');

  const cases: CorpusCase[] = [
    { name: 'valid', token: good },
    { name: 'valid, rotated key', token: es(next, hdr({}, next), claims()) },
    { name: 'valid, application/at+jwt', token: es(key, hdr({ typ: 'application/at+jwt' }), claims()) },
    { name: 'valid, AT+JWT', token: es(key, hdr({ typ: 'AT+JWT' }), claims()) },
    { name: 'valid, empty scope', token: es(key, hdr(), claims({ scope: '' })) },
    { name: 'valid, extra claims', token: es(key, hdr(), claims({ nested: { a: [1, 2, { b: null }] }, 'x-y': true })) },
    { name: 'valid, exp within leeway', token: es(key, hdr(), claims({ exp: nowSeconds - 2 })) },
    { name: 'valid, nbf now', token: es(key, hdr(), claims({ nbf: nowSeconds })) },
    { name: 'valid, padded parts', token: `${gh}=.${gp}.${gs}` },
    { name: '__proto__ claim', token: es(key, hdr(), { ...claims(), ['__proto__']: { polluted: 1 } }, { rawPayload: rawB64(JSON.stringify(claims()).replace('{', '{"__proto__":{"polluted":1},')) }) },
    { name: 'constructor claim', token: es(key, hdr(), claims({ constructor: 'x' })) },
    { name: 'escaped key names', token: es(key, hdr(), null, { rawPayload: rawB64(JSON.stringify(claims()).replace('"sub"', '"\\u0073ub"')) }) },
    { name: 'escaped __proto__', token: es(key, hdr(), null, { rawPayload: rawB64(JSON.stringify(claims()).replace('{', '{"\\u005f_proto__":{"a":1},')) }) },
    { name: '__proto__ in header', token: es(key, null, claims(), { rawHeader: rawB64(JSON.stringify(hdr()).replace('{', '{"__proto__":{"crit":["x"]},')) }) },
    { name: 'duplicate sub key', token: es(key, hdr(), null, { rawPayload: rawB64(JSON.stringify(claims()).replace('{', '{"sub":"mallory",')) }) },
    { name: 'alg none, unsigned', token: `${b64(hdr({ alg: 'none' }))}.${gp}.` },
    { name: 'alg none, signed', token: es(key, hdr({ alg: 'none' }), claims()) },
    { name: 'alg missing', token: es(key, without(hdr(), 'alg'), claims()) },
    { name: 'alg empty', token: es(key, hdr({ alg: '' }), claims()) },
    { name: 'alg number', token: es(key, hdr({ alg: 256 }), claims()) },
    { name: 'alg RS256', token: es(key, hdr({ alg: 'RS256' }), claims()) },
    { name: 'alg ES384', token: es(key, hdr({ alg: 'ES384' }), claims(), { digest: 'sha384' }) },
    { name: 'alg toString', token: es(key, hdr({ alg: 'toString' }), claims()) },
    { name: 'HS256 with public JWK as secret', token: (() => { const input = `${b64(hdr({ alg: 'HS256' }))}.${gp}`; return `${input}.${createHmac('sha256', JSON.stringify(key.jwk)).update(input).digest('base64url')}`; })() },
    { name: 'kid missing', token: es(key, without(hdr(), 'kid'), claims()) },
    { name: 'kid empty', token: es(key, hdr({ kid: '' }), claims()) },
    { name: 'kid number', token: es(key, hdr({ kid: 1 }), claims()) },
    { name: 'kid unknown', token: es(stranger, hdr({}, stranger), claims()) },
    { name: 'kid ours, other key signed', token: es(stranger, hdr(), claims()) },
    { name: 'kid of the other trusted key', token: es(key, hdr({}, next), claims()) },
    { name: 'typ JWT', token: es(key, hdr({ typ: 'JWT' }), claims()) },
    { name: 'typ missing', token: es(key, without(hdr(), 'typ'), claims()) },
    { name: 'typ number', token: es(key, hdr({ typ: 1 }), claims()) },
    { name: 'typ at+jwt+x', token: es(key, hdr({ typ: 'at+jwt+x' }), claims()) },
    { name: 'crit', token: es(key, hdr({ crit: ['exp'] }), claims()) },
    { name: 'crit empty', token: es(key, hdr({ crit: [] }), claims()) },
    { name: 'tampered payload', token: `${gh}.${b64(claims({ scope: 'orders:*' }))}.${gs}` },
    { name: 'tampered header', token: `${b64(hdr({ x: 1 }))}.${gp}.${gs}` },
    { name: 'signature flipped bit', token: `${gh}.${gp}.${Buffer.from(sigBytes.map((b, i) => (i === 10 ? b ^ 1 : b))).toString('base64url')}` },
    { name: 'signature 63 bytes', token: `${gh}.${gp}.${sigBytes.subarray(0, 63).toString('base64url')}` },
    { name: 'signature 65 bytes', token: `${gh}.${gp}.${Buffer.concat([sigBytes, Buffer.from([0])]).toString('base64url')}` },
    { name: 'signature 1 byte', token: `${gh}.${gp}.AA` },
    { name: 'signature zeros', token: `${gh}.${gp}.${Buffer.alloc(64).toString('base64url')}` },
    { name: 'signature 0xff', token: `${gh}.${gp}.${Buffer.alloc(64, 0xff).toString('base64url')}` },
    { name: 'signature DER', token: `${gh}.${gp}.${sign('sha256', Buffer.from(`${gh}.${gp}`), key.privateKey).toString('base64url')}` },
    { name: 'signature padded', token: `${good}=` },
    { name: 'signature triple padded', token: `${good}===` },
    { name: 'exp past', token: es(key, hdr(), claims({ exp: nowSeconds - 60 })) },
    { name: 'exp missing', token: es(key, hdr(), without(claims(), 'exp')) },
    { name: 'exp string', token: es(key, hdr(), claims({ exp: String(nowSeconds + 900) })) },
    { name: 'exp null', token: es(key, hdr(), claims({ exp: null })) },
    { name: 'exp huge', token: es(key, hdr(), claims({ exp: 1e300 })) },
    { name: 'nbf future', token: es(key, hdr(), claims({ nbf: nowSeconds + 60 })) },
    { name: 'nbf string', token: es(key, hdr(), claims({ nbf: 'soon' })) },
    { name: 'iat future', token: es(key, hdr(), claims({ iat: nowSeconds + 60 })) },
    { name: 'iat missing', token: es(key, hdr(), without(claims(), 'iat')) },
    { name: 'iat string', token: es(key, hdr(), claims({ iat: 'now' })) },
    { name: 'iss wrong', token: es(key, hdr(), claims({ iss: 'https://evil.test' })) },
    { name: 'iss missing', token: es(key, hdr(), without(claims(), 'iss')) },
    { name: 'iss empty', token: es(key, hdr(), claims({ iss: '' })) },
    { name: 'iss number', token: es(key, hdr(), claims({ iss: 1 })) },
    { name: 'aud wrong', token: es(key, hdr(), claims({ aud: 'other' })) },
    { name: 'aud array with ours', token: es(key, hdr(), claims({ aud: ['other', AUDIENCE] })) },
    { name: 'aud array without ours', token: es(key, hdr(), claims({ aud: ['other'] })) },
    { name: 'aud empty array', token: es(key, hdr(), claims({ aud: [] })) },
    { name: 'aud missing', token: es(key, hdr(), without(claims(), 'aud')) },
    { name: 'aud number', token: es(key, hdr(), claims({ aud: 1 })) },
    { name: 'aud array of numbers', token: es(key, hdr(), claims({ aud: [1] })) },
    { name: 'sub missing', token: es(key, hdr(), without(claims(), 'sub')) },
    { name: 'sub empty', token: es(key, hdr(), claims({ sub: '' })) },
    { name: 'sub number', token: es(key, hdr(), claims({ sub: 7 })) },
    { name: 'jti missing', token: es(key, hdr(), without(claims(), 'jti')) },
    { name: 'jti number', token: es(key, hdr(), claims({ jti: 7 })) },
    { name: 'sid missing', token: es(key, hdr(), without(claims(), 'sid')) },
    { name: 'sid number', token: es(key, hdr(), claims({ sid: 7 })) },
    { name: 'scope missing', token: es(key, hdr(), without(claims(), 'scope')) },
    { name: 'scope array', token: es(key, hdr(), claims({ scope: ['orders:read'] })) },
    { name: 'payload array', token: es(key, hdr(), [claims()]) },
    { name: 'payload string', token: es(key, hdr(), 'claims') },
    { name: 'payload null', token: es(key, hdr(), null, { rawPayload: rawB64('null') }) },
    { name: 'payload not JSON', token: es(key, hdr(), null, { rawPayload: rawB64('{"sub":') }) },
    { name: 'payload invalid UTF-8', token: es(key, hdr(), null, { rawPayload: Buffer.from([0x7b, 0xff, 0xfe, 0x7d]).toString('base64url') }) },
    { name: 'header array', token: es(key, [hdr()], claims()) },
    { name: 'header not JSON', token: es(key, null, claims(), { rawHeader: rawB64('{alg:ES256}') }) },
    { name: 'two parts', token: `${gh}.${gp}` },
    { name: 'four parts', token: `${good}.${gs}` },
    { name: 'empty parts', token: '..' },
    { name: 'standard base64 chars', token: `${gh}.${gp}.${sigBytes.toString('base64')}` },
    { name: 'payload in standard base64', token: `${gh}.${Buffer.from(JSON.stringify(claims({ scope: '>>>???' }))).toString('base64')}.${gs}` },
    { name: 'payload padded', token: `${gh}.${gp}=.${gs}` },
    { name: 'payload double padded', token: `${gh}.${gp}==.${gs}` },
    { name: 'payload triple padded', token: `${gh}.${gp}===.${gs}` },
    { name: 'payload with a space', token: `${gh}.${gp.slice(0, 10)} ${gp.slice(10)}.${gs}` },
    { name: 'header triple padded', token: `${gh}===.${gp}.${gs}` },
    { name: 'header with a slash', token: `${gh.slice(0, 5)}/${gh.slice(5)}.${gp}.${gs}` },
    { name: 'signature with a plus', token: `${gh}.${gp}.${gs.slice(0, 20)}+${gs.slice(20)}` },
    { name: 'empty payload part', token: `${gh}..${gs}` },
    { name: 'empty signature part', token: `${gh}.${gp}.` },
    { name: 'trailing dot', token: `${good}.` },
    { name: 'whitespace', token: ` ${good}` },
    { name: 'non-ASCII', token: `${gh}.${gp}é.${gs}` },
    { name: 'empty string', token: '' },
    { name: 'too long', token: `${gh}.${b64(claims({ pad: 'x'.repeat(9000) }))}.${gs}` },
    { name: 'e30.e30.e30', token: 'e30.e30.e30' },
  ];

  // A JWK without `alg`: aws-jwt-verify then tries the header's algorithm (and the profile refuses non-ES256).
  const noAlgJwk = { ...key.jwk } as Partial<PublicJwk>;
  delete noAlgJwk.alg;
  const noAlg: CorpusCase[] = [
    { name: 'no-alg JWK, ES256', token: good },
    { name: 'no-alg JWK, ES384', token: es(key, hdr({ alg: 'ES384' }), claims(), { digest: 'sha384' }) },
    { name: 'no-alg JWK, ES512', token: es(key, hdr({ alg: 'ES512' }), claims()) },
    { name: 'no-alg JWK, RS256 (ES256 signature)', token: es(key, hdr({ alg: 'RS256' }), claims()) },
    { name: 'no-alg JWK, EdDSA', token: es(key, hdr({ alg: 'EdDSA' }), claims()) },
    { name: 'no-alg JWK, HS256', token: es(key, hdr({ alg: 'HS256' }), claims()) },
    { name: 'no-alg JWK, alg missing', token: es(key, without(hdr(), 'alg'), claims()) },
    { name: 'no-alg JWK, toString', token: es(key, hdr({ alg: 'toString' }), claims()) },
  ];

  return [
    { keySet: 'active + next (rotation)', jwks: { keys: [key.jwk, next.jwk] }, cases },
    { keySet: 'JWK without alg', jwks: { keys: [noAlgJwk as PublicJwk] }, cases: noAlg },
    {
      keySet: 'duplicate kid (first wins)',
      jwks: { keys: [key.jwk, { ...next.jwk, kid: key.jwk.kid }] },
      cases: [
        { name: 'dup kid, first key', token: good },
        { name: 'dup kid, second key', token: es(next, hdr(), claims()) },
      ],
    },
    {
      keySet: 'JWK that does not import / is not a signature key',
      jwks: {
        keys: [
          { ...key.jwk, kid: 'broken', x: 'AAAA' },
          { ...key.jwk, kid: 'enc', use: 'enc' as 'sig' },
          { ...key.jwk, kid: 'rsa', kty: 'RSA' as 'EC' },
        ],
      },
      cases: [
        { name: 'broken x', token: es(key, hdr({ kid: 'broken' }), claims()) },
        { name: 'use enc', token: es(key, hdr({ kid: 'enc' }), claims()) },
        { name: 'kty RSA', token: es(key, hdr({ kid: 'rsa' }), claims()) },
      ],
    },
    {
      keySet: 'P-384 key under alg ES256',
      jwks: { keys: [p384.jwk] },
      cases: [
        { name: 'P-384, sha256, 96-byte signature', token: es(p384, hdr({}, p384), claims()) },
        { name: 'P-384, 64-byte signature', token: `${b64(hdr({}, p384))}.${gp}.${gs}` },
      ],
    },
  ];
}

export type Verdict = { ok: true; claims: unknown } | { ok: false; reason: string; errorClass: string };

function verdictOf(f: () => unknown): Verdict {
  try {
    return { ok: true, claims: f() };
  } catch (err) {
    return err instanceof InvalidTokenError
      ? { ok: false, reason: err.reason, errorClass: 'InvalidTokenError' }
      : { ok: false, reason: String((err as Error)?.message), errorClass: (err as Error)?.name ?? typeof err };
  }
}

export interface Disagreement {
  keySet: string;
  name: string;
  ours: Verdict;
  reference: Verdict;
}

/** Runs every case through both verifiers (same options, same clock); returns where they differ. */
export function crosscheck(nowMs = Date.now()): { cases: number; accepted: number; disagreements: Disagreement[] } {
  const clock = new ManualClock(nowMs);
  const corpus = buildCorpus(Math.floor(nowMs / 1000));
  const disagreements: Disagreement[] = [];
  let cases = 0;
  let accepted = 0;
  for (const { keySet, jwks, cases: list } of corpus) {
    const opts = { issuer: ISSUER, audience: AUDIENCE, jwks, leewaySeconds: 5, clock };
    const reference = new ReferenceAccessTokenVerifier(opts);
    const expected = list.map(({ token }) => JSON.stringify(verdictOf(() => reference.verify(token))));
    // Our verifier remembers headers: check it fresh, warm (every case a second time), and in reverse order.
    const forward = new AccessTokenVerifier(opts);
    const backward = new AccessTokenVerifier(opts);
    const order = [...list.keys(), ...list.keys(), ...[...list.keys()].reverse()];
    order.forEach((i, n) => {
      const { name, token } = list[i]!;
      const verifier = n < 2 * list.length ? forward : backward;
      const a = verdictOf(() => verifier.verify(token));
      if (n < list.length) {
        cases++;
        if (a.ok) accepted++;
      }
      if (JSON.stringify(a) !== expected[i]) {
        disagreements.push({ keySet, name: `${name} (${n < list.length ? 'fresh' : n < 2 * list.length ? 'warm' : 'reverse'})`, ours: a, reference: JSON.parse(expected[i]!) as Verdict });
      }
    });
  }
  return { cases, accepted, disagreements };
}
