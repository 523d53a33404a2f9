/**
 * The verifier's corpus: valid tokens, forged ones, and every malformation we could think of, under several key
 * sets (rotation, a JWK without `alg`, a duplicated kid, JWKs that do not import or are not P-256), each with the
 * verdict the RFC 9068 profile gives it (`accepted` or the TokenRejection). Until aws-jwt-verify took over the
 * verification these were the differential check of the hand-written verifier against aws-jwt-verify; the
 * verdicts are the ones both gave, except where the profile became stricter: every part in canonical
 * base64url (issue 9.10: padding and non-zero pad bits are `malformed`) and ES256 only on a P-256 key.
 * test/unit/verify-corpus.test.ts checks every case; the benchmark checks them before it times anything.
 */
import { createHmac, generateKeyPairSync, sign, type KeyObject } from 'node:crypto';
import { AccessTokenVerifier } from '../../../lambdas/core/access-token.js';
import { ManualClock } from '../../../lambdas/core/clock.js';
import { InvalidTokenError, type TokenRejection } from '../../../lambdas/core/errors.js';
import { publicJwkOf } from '../../../lambdas/core/jwk.js';
import type { Jwks, PublicJwk } from '../../../lambdas/core/ports.js';
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

const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';

/** `part` with the `=` padding standard base64 would give it (none for a length of 4n). */
export const padded = (part: string): string => part + '='.repeat((4 - (part.length % 4)) % 4);

/**
 * `part` with its last character replaced by one that differs only in the pad bits: lenient decoders (Node's,
 * aws-jwt-verify's) give the very same bytes. Only for lengths of 4n+2 and 4n+3 (4n has no pad bits).
 */
export function nonCanonical(part: string): string {
  const spare = part.length % 4 === 2 ? 15 : part.length % 4 === 3 ? 3 : 0;
  if (spare === 0) throw new Error(`a base64url part of length ${part.length} has no pad bits`);
  const last = ALPHABET.indexOf(part.at(-1)!);
  return part.slice(0, -1) + ALPHABET[last + 1 + Math.floor(Math.random() * spare)]!;
}

function es(key: Key, header: unknown, payload: unknown, opts: { rawHeader?: string; rawPayload?: string; digest?: string } = {}): string {
  const input = `${opts.rawHeader ?? b64(header)}.${opts.rawPayload ?? b64(payload)}`;
  const sig = sign(opts.digest ?? 'sha256', Buffer.from(input), { key: key.privateKey, dsaEncoding: 'ieee-p1363' });
  return `${input}.${sig.toString('base64url')}`;
}

export type Expected = 'accepted' | TokenRejection;

export interface CorpusCase {
  name: string;
  /** What the verifier must answer, with the injected clock at the corpus's `now` (and the wall clock near it). */
  expect: Expected;
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
  // A payload whose encoding has pad bits (length 4n+2), whatever the length of the time stamps.
  let oddPayload = b64(claims({ pad: '' }));
  for (let n = 1; oddPayload.length % 4 !== 2; n++) oddPayload = b64(claims({ pad: 'x'.repeat(n) }));

  const cases: CorpusCase[] = [
    { name: 'valid', expect: 'accepted', token: good },
    { name: 'valid, rotated key', expect: 'accepted', token: es(next, hdr({}, next), claims()) },
    { name: 'valid, application/at+jwt', expect: 'accepted', token: es(key, hdr({ typ: 'application/at+jwt' }), claims()) },
    { name: 'valid, AT+JWT', expect: 'accepted', token: es(key, hdr({ typ: 'AT+JWT' }), claims()) },
    { name: 'valid, empty scope', expect: 'accepted', token: es(key, hdr(), claims({ scope: '' })) },
    { name: 'valid, extra claims', expect: 'accepted', token: es(key, hdr(), claims({ nested: { a: [1, 2, { b: null }] }, 'x-y': true })) },
    { name: 'valid, exp within leeway', expect: 'accepted', token: es(key, hdr(), claims({ exp: nowSeconds - 2 })) },
    { name: 'valid, nbf now', expect: 'accepted', token: es(key, hdr(), claims({ nbf: nowSeconds })) },
    { name: 'header padded (signed unpadded)', expect: 'malformed', token: `${gh}=.${gp}.${gs}` },
    { name: '__proto__ claim', expect: 'accepted', token: es(key, hdr(), { ...claims(), ['__proto__']: { polluted: 1 } }, { rawPayload: rawB64(JSON.stringify(claims()).replace('{', '{"__proto__":{"polluted":1},')) }) },
    { name: 'constructor claim', expect: 'accepted', token: es(key, hdr(), claims({ constructor: 'x' })) },
    { name: 'escaped key names', expect: 'accepted', token: es(key, hdr(), null, { rawPayload: rawB64(JSON.stringify(claims()).replace('"sub"', '"\\u0073ub"')) }) },
    { name: 'escaped __proto__', expect: 'accepted', token: es(key, hdr(), null, { rawPayload: rawB64(JSON.stringify(claims()).replace('{', '{"\\u005f_proto__":{"a":1},')) }) },
    { name: '__proto__ in header', expect: 'accepted', token: es(key, null, claims(), { rawHeader: rawB64(JSON.stringify(hdr()).replace('{', '{"__proto__":{"crit":["x"]},')) }) },
    { name: 'duplicate sub key', expect: 'accepted', token: es(key, hdr(), null, { rawPayload: rawB64(JSON.stringify(claims()).replace('{', '{"sub":"mallory",')) }) },
    { name: 'alg none, unsigned', expect: 'malformed', token: `${b64(hdr({ alg: 'none' }))}.${gp}.` },
    { name: 'alg none, signed', expect: 'bad_header', token: es(key, hdr({ alg: 'none' }), claims()) },
    { name: 'alg missing', expect: 'bad_header', token: es(key, without(hdr(), 'alg'), claims()) },
    { name: 'alg empty', expect: 'bad_header', token: es(key, hdr({ alg: '' }), claims()) },
    { name: 'alg number', expect: 'malformed', token: es(key, hdr({ alg: 256 }), claims()) },
    { name: 'alg RS256', expect: 'bad_header', token: es(key, hdr({ alg: 'RS256' }), claims()) },
    { name: 'alg ES384', expect: 'bad_header', token: es(key, hdr({ alg: 'ES384' }), claims(), { digest: 'sha384' }) },
    { name: 'alg toString', expect: 'bad_header', token: es(key, hdr({ alg: 'toString' }), claims()) },
    { name: 'HS256 with public JWK as secret', expect: 'bad_header', token: (() => { const input = `${b64(hdr({ alg: 'HS256' }))}.${gp}`; return `${input}.${createHmac('sha256', JSON.stringify(key.jwk)).update(input).digest('base64url')}`; })() },
    { name: 'kid missing', expect: 'bad_header', token: es(key, without(hdr(), 'kid'), claims()) },
    { name: 'kid empty', expect: 'unknown_kid', token: es(key, hdr({ kid: '' }), claims()) },
    { name: 'kid number', expect: 'malformed', token: es(key, hdr({ kid: 1 }), claims()) },
    { name: 'kid unknown', expect: 'unknown_kid', token: es(stranger, hdr({}, stranger), claims()) },
    { name: 'kid ours, other key signed', expect: 'bad_signature', token: es(stranger, hdr(), claims()) },
    { name: 'kid of the other trusted key', expect: 'bad_signature', token: es(key, hdr({}, next), claims()) },
    { name: 'typ JWT', expect: 'bad_header', token: es(key, hdr({ typ: 'JWT' }), claims()) },
    { name: 'typ missing', expect: 'bad_header', token: es(key, without(hdr(), 'typ'), claims()) },
    { name: 'typ number', expect: 'bad_header', token: es(key, hdr({ typ: 1 }), claims()) },
    { name: 'typ at+jwt+x', expect: 'bad_header', token: es(key, hdr({ typ: 'at+jwt+x' }), claims()) },
    { name: 'crit', expect: 'bad_header', token: es(key, hdr({ crit: ['exp'] }), claims()) },
    { name: 'crit empty', expect: 'bad_header', token: es(key, hdr({ crit: [] }), claims()) },
    { name: 'tampered payload', expect: 'bad_signature', token: `${gh}.${b64(claims({ scope: 'orders:*' }))}.${gs}` },
    { name: 'tampered header', expect: 'bad_signature', token: `${b64(hdr({ x: 1 }))}.${gp}.${gs}` },
    { name: 'signature flipped bit', expect: 'bad_signature', token: `${gh}.${gp}.${Buffer.from(sigBytes.map((b, i) => (i === 10 ? b ^ 1 : b))).toString('base64url')}` },
    { name: 'signature 63 bytes', expect: 'malformed', token: `${gh}.${gp}.${sigBytes.subarray(0, 63).toString('base64url')}` },
    { name: 'signature 65 bytes', expect: 'malformed', token: `${gh}.${gp}.${Buffer.concat([sigBytes, Buffer.from([0])]).toString('base64url')}` },
    { name: 'signature 1 byte', expect: 'malformed', token: `${gh}.${gp}.AA` },
    { name: 'signature zeros', expect: 'bad_signature', token: `${gh}.${gp}.${Buffer.alloc(64).toString('base64url')}` },
    { name: 'signature 0xff', expect: 'bad_signature', token: `${gh}.${gp}.${Buffer.alloc(64, 0xff).toString('base64url')}` },
    { name: 'signature DER', expect: 'malformed', token: `${gh}.${gp}.${sign('sha256', Buffer.from(`${gh}.${gp}`), key.privateKey).toString('base64url')}` },
    { name: 'signature padded', expect: 'malformed', token: `${good}=` },
    { name: 'signature triple padded', expect: 'malformed', token: `${good}===` },
    { name: 'header padded, signed as sent', expect: 'malformed', token: es(key, null, claims(), { rawHeader: padded(gh) }) },
    { name: 'payload padded, signed as sent', expect: 'malformed', token: es(key, null, null, { rawHeader: gh, rawPayload: padded(oddPayload) }) },
    { name: 'header pad bits set, signed as sent', expect: 'malformed', token: es(key, null, claims(), { rawHeader: nonCanonical(gh) }) },
    { name: 'payload pad bits set, signed as sent', expect: 'malformed', token: es(key, null, null, { rawHeader: gh, rawPayload: nonCanonical(oddPayload) }) },
    { name: 'signature pad bits set (same bytes)', expect: 'malformed', token: `${gh}.${gp}.${nonCanonical(gs)}` },
    { name: 'payload of length 4n+2, canonical', expect: 'accepted', token: es(key, null, null, { rawHeader: gh, rawPayload: oddPayload }) },
    { name: 'exp past', expect: 'expired', token: es(key, hdr(), claims({ exp: nowSeconds - 60 })) },
    { name: 'exp missing', expect: 'bad_claims', token: es(key, hdr(), without(claims(), 'exp')) },
    { name: 'exp string', expect: 'malformed', token: es(key, hdr(), claims({ exp: String(nowSeconds + 900) })) },
    { name: 'exp null', expect: 'malformed', token: es(key, hdr(), claims({ exp: null })) },
    { name: 'exp huge', expect: 'accepted', token: es(key, hdr(), claims({ exp: 1e300 })) },
    { name: 'nbf future', expect: 'not_yet_valid', token: es(key, hdr(), claims({ nbf: nowSeconds + 60 })) },
    { name: 'nbf string', expect: 'malformed', token: es(key, hdr(), claims({ nbf: 'soon' })) },
    { name: 'iat future', expect: 'not_yet_valid', token: es(key, hdr(), claims({ iat: nowSeconds + 60 })) },
    { name: 'iat missing', expect: 'bad_claims', token: es(key, hdr(), without(claims(), 'iat')) },
    { name: 'iat string', expect: 'malformed', token: es(key, hdr(), claims({ iat: 'now' })) },
    { name: 'iss wrong', expect: 'bad_issuer', token: es(key, hdr(), claims({ iss: 'https://evil.test' })) },
    { name: 'iss missing', expect: 'bad_issuer', token: es(key, hdr(), without(claims(), 'iss')) },
    { name: 'iss empty', expect: 'bad_issuer', token: es(key, hdr(), claims({ iss: '' })) },
    { name: 'iss number', expect: 'malformed', token: es(key, hdr(), claims({ iss: 1 })) },
    { name: 'aud wrong', expect: 'bad_audience', token: es(key, hdr(), claims({ aud: 'other' })) },
    { name: 'aud array with ours', expect: 'bad_audience', token: es(key, hdr(), claims({ aud: ['other', AUDIENCE] })) },
    { name: 'aud array without ours', expect: 'bad_audience', token: es(key, hdr(), claims({ aud: ['other'] })) },
    { name: 'aud empty array', expect: 'bad_audience', token: es(key, hdr(), claims({ aud: [] })) },
    { name: 'aud missing', expect: 'bad_audience', token: es(key, hdr(), without(claims(), 'aud')) },
    { name: 'aud number', expect: 'malformed', token: es(key, hdr(), claims({ aud: 1 })) },
    { name: 'aud array of numbers', expect: 'malformed', token: es(key, hdr(), claims({ aud: [1] })) },
    { name: 'sub missing', expect: 'bad_claims', token: es(key, hdr(), without(claims(), 'sub')) },
    { name: 'sub empty', expect: 'bad_claims', token: es(key, hdr(), claims({ sub: '' })) },
    { name: 'sub number', expect: 'malformed', token: es(key, hdr(), claims({ sub: 7 })) },
    { name: 'jti missing', expect: 'bad_claims', token: es(key, hdr(), without(claims(), 'jti')) },
    { name: 'jti number', expect: 'malformed', token: es(key, hdr(), claims({ jti: 7 })) },
    { name: 'sid missing', expect: 'bad_claims', token: es(key, hdr(), without(claims(), 'sid')) },
    { name: 'sid number', expect: 'bad_claims', token: es(key, hdr(), claims({ sid: 7 })) },
    { name: 'scope missing', expect: 'bad_claims', token: es(key, hdr(), without(claims(), 'scope')) },
    { name: 'scope array', expect: 'malformed', token: es(key, hdr(), claims({ scope: ['orders:read'] })) },
    { name: 'payload array', expect: 'malformed', token: es(key, hdr(), [claims()]) },
    { name: 'payload string', expect: 'malformed', token: es(key, hdr(), 'claims') },
    { name: 'payload null', expect: 'malformed', token: es(key, hdr(), null, { rawPayload: rawB64('null') }) },
    { name: 'payload not JSON', expect: 'malformed', token: es(key, hdr(), null, { rawPayload: rawB64('{"sub":') }) },
    { name: 'payload invalid UTF-8', expect: 'malformed', token: es(key, hdr(), null, { rawPayload: Buffer.from([0x7b, 0xff, 0xfe, 0x7d]).toString('base64url') }) },
    { name: 'header array', expect: 'malformed', token: es(key, [hdr()], claims()) },
    { name: 'header not JSON', expect: 'malformed', token: es(key, null, claims(), { rawHeader: rawB64('{alg:ES256}') }) },
    { name: 'two parts', expect: 'malformed', token: `${gh}.${gp}` },
    { name: 'four parts', expect: 'malformed', token: `${good}.${gs}` },
    { name: 'empty parts', expect: 'malformed', token: '..' },
    { name: 'standard base64 chars', expect: 'malformed', token: `${gh}.${gp}.${sigBytes.toString('base64')}` },
    { name: 'payload in standard base64', expect: 'malformed', token: `${gh}.${Buffer.from(JSON.stringify(claims({ scope: '>>>???' }))).toString('base64')}.${gs}` },
    { name: 'payload padded', expect: 'malformed', token: `${gh}.${gp}=.${gs}` },
    { name: 'payload double padded', expect: 'malformed', token: `${gh}.${gp}==.${gs}` },
    { name: 'payload triple padded', expect: 'malformed', token: `${gh}.${gp}===.${gs}` },
    { name: 'payload with a space', expect: 'malformed', token: `${gh}.${gp.slice(0, 10)} ${gp.slice(10)}.${gs}` },
    { name: 'header triple padded', expect: 'malformed', token: `${gh}===.${gp}.${gs}` },
    { name: 'header with a slash', expect: 'malformed', token: `${gh.slice(0, 5)}/${gh.slice(5)}.${gp}.${gs}` },
    { name: 'signature with a plus', expect: 'malformed', token: `${gh}.${gp}.${gs.slice(0, 20)}+${gs.slice(20)}` },
    { name: 'empty payload part', expect: 'malformed', token: `${gh}..${gs}` },
    { name: 'empty signature part', expect: 'malformed', token: `${gh}.${gp}.` },
    { name: 'trailing dot', expect: 'malformed', token: `${good}.` },
    { name: 'whitespace', expect: 'malformed', token: ` ${good}` },
    { name: 'non-ASCII', expect: 'malformed', token: `${gh}.${gp}é.${gs}` },
    { name: 'empty string', expect: 'malformed', token: '' },
    { name: 'too long', expect: 'malformed', token: `${gh}.${b64(claims({ pad: 'x'.repeat(9000) }))}.${gs}` },
    { name: 'e30.e30.e30', expect: 'bad_header', token: 'e30.e30.e30' },
  ];

  // A JWK without `alg`: aws-jwt-verify then tries the header's algorithm (and the profile refuses non-ES256).
  const noAlgJwk = { ...key.jwk } as Partial<PublicJwk>;
  delete noAlgJwk.alg;
  const noAlg: CorpusCase[] = [
    { name: 'no-alg JWK, ES256', expect: 'accepted', token: good },
    { name: 'no-alg JWK, ES384', expect: 'bad_header', token: es(key, hdr({ alg: 'ES384' }), claims(), { digest: 'sha384' }) },
    { name: 'no-alg JWK, ES512', expect: 'bad_signature', token: es(key, hdr({ alg: 'ES512' }), claims()) },
    { name: 'no-alg JWK, RS256 (ES256 signature)', expect: 'bad_header', token: es(key, hdr({ alg: 'RS256' }), claims()) },
    { name: 'no-alg JWK, EdDSA', expect: 'bad_signature', token: es(key, hdr({ alg: 'EdDSA' }), claims()) },
    { name: 'no-alg JWK, HS256', expect: 'bad_header', token: es(key, hdr({ alg: 'HS256' }), claims()) },
    { name: 'no-alg JWK, alg missing', expect: 'bad_header', token: es(key, without(hdr(), 'alg'), claims()) },
    { name: 'no-alg JWK, toString', expect: 'bad_header', token: es(key, hdr({ alg: 'toString' }), claims()) },
  ];

  return [
    { keySet: 'active + next (rotation)', jwks: { keys: [key.jwk, next.jwk] }, cases },
    { keySet: 'JWK without alg', jwks: { keys: [noAlgJwk as PublicJwk] }, cases: noAlg },
    {
      keySet: 'duplicate kid (first wins)',
      jwks: { keys: [key.jwk, { ...next.jwk, kid: key.jwk.kid }] },
      cases: [
        { name: 'dup kid, first key', expect: 'accepted', token: good },
        { name: 'dup kid, second key', expect: 'bad_signature', token: es(next, hdr(), claims()) },
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
        { name: 'broken x', expect: 'malformed', token: es(key, hdr({ kid: 'broken' }), claims()) },
        { name: 'use enc', expect: 'malformed', token: es(key, hdr({ kid: 'enc' }), claims()) },
        { name: 'kty RSA', expect: 'malformed', token: es(key, hdr({ kid: 'rsa' }), claims()) },
      ],
    },
    {
      keySet: 'P-384 key under alg ES256',
      jwks: { keys: [p384.jwk] },
      cases: [
        { name: 'P-384, sha256, 96-byte signature', expect: 'bad_header', token: es(p384, hdr({}, p384), claims()) },
        { name: 'P-384, 64-byte signature', expect: 'malformed', token: `${b64(hdr({}, p384))}.${gp}.${gs}` },
      ],
    },
  ];
}

export type Verdict = { ok: true; claims: Record<string, unknown> } | { ok: false; reason: string; errorClass: string };

function verdictOf(f: () => unknown): Verdict {
  try {
    return { ok: true, claims: f() as Record<string, unknown> };
  } catch (err) {
    return err instanceof InvalidTokenError
      ? { ok: false, reason: err.reason, errorClass: 'InvalidTokenError' }
      : { ok: false, reason: String((err as Error)?.message), errorClass: (err as Error)?.name ?? typeof err };
  }
}

export const verdictText = (v: Verdict): string => (v.ok ? 'accepted' : v.errorClass === 'InvalidTokenError' ? v.reason : `${v.errorClass}: ${v.reason}`);

export interface Mismatch {
  keySet: string;
  name: string;
  expected: Expected;
  got: string;
}

export interface CorpusRun {
  cases: number;
  accepted: number;
  /** The claims returned for every accepted case (first pass). */
  acceptedClaims: Record<string, unknown>[];
  mismatches: Mismatch[];
}

/**
 * Runs every case through AccessTokenVerifier with the injected clock at `nowMs` (the corpus is built for that
 * instant), and reports every verdict that is not the expected one. Each case runs fresh, again on the warm
 * verifier (aws-jwt-verify caches key objects), and on a second verifier in reverse order.
 */
export function checkCorpus(nowMs = Date.now()): CorpusRun {
  const clock = new ManualClock(nowMs);
  const corpus = buildCorpus(Math.floor(nowMs / 1000));
  const run: CorpusRun = { cases: 0, accepted: 0, acceptedClaims: [], mismatches: [] };
  for (const { keySet, jwks, cases: list } of corpus) {
    const opts = { issuer: ISSUER, audience: AUDIENCE, jwks, leewaySeconds: 5, clock };
    const forward = new AccessTokenVerifier(opts);
    const backward = new AccessTokenVerifier(opts);
    const order = [...list.keys(), ...list.keys(), ...[...list.keys()].reverse()];
    order.forEach((i, n) => {
      const { name, token, expect } = list[i]!;
      const verdict = verdictOf(() => (n < 2 * list.length ? forward : backward).verify(token));
      if (n < list.length) {
        run.cases++;
        if (verdict.ok) {
          run.accepted++;
          run.acceptedClaims.push(verdict.claims);
        }
      }
      const got = verdictText(verdict);
      if (got !== expect) {
        run.mismatches.push({ keySet, name: `${name} (${n < list.length ? 'fresh' : n < 2 * list.length ? 'warm' : 'reverse'})`, expected: expect, got });
      }
    });
  }
  return run;
}
