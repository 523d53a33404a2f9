/** Crafting JWTs for tests, including hostile ones (alg none, HS256 with the public key, tampering…). */
import { createHmac, generateKeyPairSync, sign, type KeyObject } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { publicJwkOf } from '../../lambdas/core/jwk.js';
import type { Jwks, PublicJwk } from '../../lambdas/core/ports.js';

const b64 = (v: unknown): string => Buffer.from(typeof v === 'string' ? v : JSON.stringify(v)).toString('base64url');

export interface TestKey {
  privateKey: KeyObject;
  jwk: PublicJwk;
}

export function newTestKey(): TestKey {
  const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  return { privateKey, jwk: publicJwkOf(privateKey) };
}

export const jwksOf = (...keys: TestKey[]): Jwks => ({ keys: keys.map((k) => k.jwk) });

/** ES256-signs arbitrary header/payload (header is used as given: callers set alg/typ/kid). */
export function signEs256(key: TestKey, header: Record<string, unknown>, payload: Record<string, unknown>): string {
  const input = `${b64(header)}.${b64(payload)}`;
  const sig = sign('sha256', Buffer.from(input), { key: key.privateKey, dsaEncoding: 'ieee-p1363' });
  return `${input}.${sig.toString('base64url')}`;
}

export function signHs256(secret: string | Buffer, header: Record<string, unknown>, payload: Record<string, unknown>): string {
  const input = `${b64(header)}.${b64(payload)}`;
  return `${input}.${createHmac('sha256', secret).update(input).digest('base64url')}`;
}

export const unsigned = (header: Record<string, unknown>, payload: Record<string, unknown>): string =>
  `${b64(header)}.${b64(payload)}.`;

export function decodePayload(jwt: string): Record<string, unknown> {
  return JSON.parse(Buffer.from(jwt.split('.')[1]!, 'base64url').toString('utf8')) as Record<string, unknown>;
}

export function decodeHeader(jwt: string): Record<string, unknown> {
  return JSON.parse(Buffer.from(jwt.split('.')[0]!, 'base64url').toString('utf8')) as Record<string, unknown>;
}

/** Valid claims for `nowSeconds` under the given issuer/audience. */
export function goodClaims(nowSeconds: number, over: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    iss: 'https://issuer.test',
    sub: 'alice',
    aud: 'tokengate-api',
    exp: nowSeconds + 900,
    iat: nowSeconds,
    jti: '5f0c0a52-9b5e-4a4e-9d1a-2b7f9a0c1e11',
    scope: 'orders:read orders:write',
    sid: 'c2Vzc2lvbi0x',
    ...over,
  };
}

export const loadPem = (path: string): string => readFileSync(path, 'utf8');
